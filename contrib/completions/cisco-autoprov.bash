# bash completion for cisco-autoprov 0.1.0
# Generated from src/cli.rs (cli::bash_completion; tests/cli.rs checks it): do not edit.
# Install as /usr/share/bash-completion/completions/cisco-autoprov.

_cisco_autoprov() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    local global="-c --config -h --help"
    case $prev in
    -c | --config | --socket)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    esac
    # The command and its first argument, skipping options and their values.
    local i command='' word=''
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -c | --config | --socket) ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $command ]]; then
                command=${COMP_WORDS[i]}
            elif [[ -z $word ]]; then
                word=${COMP_WORDS[i]}
            fi
            ;;
        esac
    done
    case $command in
    '')
        mapfile -t COMPREPLY < <(compgen -W "run scan status explain approve deny forget check snippet firmware notify $global -V --version" -- "$cur")
        ;;
    run)
        mapfile -t COMPREPLY < <(compgen -W "--log-split $global" -- "$cur")
        ;;
    scan)
        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        ;;
    status)
        mapfile -t COMPREPLY < <(compgen -W "--json --show-secrets --daemon $global" -- "$cur")
        ;;
    explain)
        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        ;;
    approve|deny|forget)
        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        ;;
    check)
        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        ;;
    snippet)
        if [[ -z $word ]]; then
            mapfile -t COMPREPLY < <(compgen -W "dnsmasq isc uci kea hex $global" -- "$cur")
            return
        fi
        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        ;;
    firmware)
        if [[ -z $word ]]; then
            mapfile -t COMPREPLY < <(compgen -W "list import --force $global" -- "$cur")
            return
        fi
        if [[ $word == import && $cur != -* ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
        fi
        mapfile -t COMPREPLY < <(compgen -W "--force $global" -- "$cur")
        ;;
    notify)
        if [[ -z $word ]]; then
            mapfile -t COMPREPLY < <(compgen -W "dnsmasq hotplug-dhcp hotplug-tftp isc --socket $global" -- "$cur")
            return
        fi
        ;;
    esac
}
complete -F _cisco_autoprov cisco-autoprov
