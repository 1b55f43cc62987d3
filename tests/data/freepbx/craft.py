#!/usr/bin/env python3
"""Writes the constructed FreePBX Bulk Handler files in this directory (see SOURCE.md).

Run from this directory: python3 craft.py. The values are invented; the column names and
their order are FreePBX's, the quoting is PHP fputcsv's (a field is enclosed when it holds
the delimiter, a quote, a backslash, a space, a tab, CR or LF; quotes are doubled).
"""

FREEPBX16_PJSIP = (
    "extension,password,name,voicemail,ringtimer,noanswer,recording,outboundcid,sipname,"
    "noanswer_cid,busy_cid,chanunavail_cid,noanswer_dest,busy_dest,chanunavail_dest,mohclass,"
    "id,tech,dial,devicetype,user,description,emergency_cid,hint_override,cwtone,"
    "recording_in_external,recording_out_external,recording_in_internal,"
    "recording_out_internal,recording_ondemand,recording_priority,answermode,intercom,"
    "cid_masquerade,concurrency_limit,devicedata,accountcode,aggregate_mwi,allow,avpf,bundle,"
    "callerid,context,defaultuser,device_state_busy_at,direct_media,disallow,dtmfmode,"
    "force_callerid,force_rport,icesupport,mailbox,match,max_audio_streams,max_contacts,"
    "max_video_streams,maximum_expiration,md5_cred,media_address,media_encryption,"
    "media_encryption_optimistic,media_use_received_transport,message_context,"
    "minimum_expiration,mwi_subscription,namedcallgroup,namedpickupgroup,outbound_auth,"
    "outbound_proxy,qualifyfreq,refer_blind_progress,remove_existing,rewrite_contact,"
    "rtcp_mux,rtp_symmetric,rtp_timeout,rtp_timeout_hold,secret,send_connected_line,"
    "sendrpid,sipdriver,timers,timers_min_se,transport,trustrpid,user_eq_phone,vmexten,"
    "webrtc,callwaiting_enable,voicemail_enable,voicemail_vmpwd,voicemail_email,"
    "voicemail_pager,voicemail_options,voicemail_same_exten,disable_star_voicemail,"
    "vmx_unavail_enabled,vmx_busy_enabled,vmx_temp_enabled,vmx_play_instructions,"
    "vmx_option_0_number,vmx_option_1_number,vmx_option_2_number"
).split(",")

FREEPBX13_SIP = (
    "extension,password,name,voicemail,ringtimer,noanswer,recording,outboundcid,sipname,"
    "noanswer_cid,busy_cid,chanunavail_cid,noanswer_dest,busy_dest,chanunavail_dest,mohclass,"
    "id,tech,dial,devicetype,user,description,emergency_cid,recording_in_external,"
    "recording_out_external,recording_in_internal,recording_out_internal,recording_ondemand,"
    "recording_priority,answermode,intercom,accountcode,allow,avpf,callerid,canreinvite,"
    "context,defaultuser,deny,disallow,dtmfmode,encryption,force_avp,host,icesupport,mailbox,"
    "namedcallgroup,namedpickupgroup,nat,permit,port,qualify,qualifyfreq,secret,sendrpid,"
    "sessiontimers,sipdriver,transport,trustrpid,type,videosupport,findmefollow_strategy,"
    "findmefollow_grptime,findmefollow_grppre,findmefollow_grplist,findmefollow_annmsg_id,"
    "findmefollow_postdest,findmefollow_dring,findmefollow_needsconf,"
    "findmefollow_remotealert_id,findmefollow_toolate_id,findmefollow_ringing,"
    "findmefollow_pre_ring,findmefollow_voicemail,findmefollow_changecid,"
    "findmefollow_fixedcid,findmefollow_enabled,voicemail_enable,voicemail_vmpwd,"
    "voicemail_email,voicemail_pager,voicemail_options,,,"
).split(",")


def php_field(value):
    if any(c in value for c in ',"\\ \t\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def php_row(values):
    return ",".join(php_field(v) for v in values) + "\n"


def pjsip16(ext, name, secret, tech="pjsip", description=None, **extra):
    """A FreePBX 16 export row for one extension, the way core + voicemail fill it."""
    row = dict.fromkeys(FREEPBX16_PJSIP, "")
    row.update(
        extension=ext, name=name, voicemail="default", ringtimer="0", recording="",
        mohclass="default", id=ext, tech=tech, devicetype="fixed", user=ext,
        description=name if description is None else description, cwtone="disabled",
        recording_in_external="dontcare", recording_out_external="dontcare",
        recording_in_internal="dontcare", recording_out_internal="dontcare",
        recording_ondemand="disabled", recording_priority="10", answermode="disabled",
        intercom="enabled", cid_masquerade=ext, concurrency_limit="3", callwaiting_enable="ENABLED",
    )
    if tech == "pjsip":
        row.update(
            dial=f"PJSIP/{ext}", aggregate_mwi="yes", allow="", avpf="no", bundle="no",
            callerid=f"{name} <{ext}>", context="from-internal", device_state_busy_at="0",
            direct_media="yes", disallow="", dtmfmode="rfc4733", force_callerid="no",
            force_rport="yes", icesupport="no", mailbox=f"{ext}@device", max_audio_streams="1",
            max_contacts="1", max_video_streams="1", maximum_expiration="7200",
            media_encryption="no", media_encryption_optimistic="no",
            media_use_received_transport="no", minimum_expiration="60",
            mwi_subscription="auto", qualifyfreq="60", refer_blind_progress="yes",
            remove_existing="yes", rewrite_contact="yes", rtcp_mux="no", rtp_symmetric="yes",
            rtp_timeout="0", rtp_timeout_hold="0", secret=secret, send_connected_line="yes",
            sendrpid="pai", sipdriver="chan_pjsip", timers="yes", timers_min_se="90",
            transport="0.0.0.0-udp", trustrpid="yes", user_eq_phone="no", webrtc="no",
            voicemail_enable="yes", voicemail_vmpwd=ext, voicemail_email=f"{ext}@example.com",
            voicemail_options="attach=no|saycid=no|envelope=no|delete=no",
        )
    elif tech == "virtual":
        row.update(voicemail="default", voicemail_enable="yes", voicemail_vmpwd=ext)
    elif tech == "custom":
        row.update(dial=f"Local/{ext}99@from-internal")
    row.update(extra)
    return [row[c] for c in FREEPBX16_PJSIP]


def sip13(ext, name, secret):
    row = dict.fromkeys(range(len(FREEPBX13_SIP)), "")
    for i, col in enumerate(FREEPBX13_SIP):
        if not col:
            continue
        row[i] = {
            "extension": ext, "name": name, "voicemail": "default", "ringtimer": "0",
            "mohclass": "default", "id": ext, "tech": "sip", "dial": f"SIP/{ext}",
            "devicetype": "fixed", "user": ext, "description": name,
            "recording_in_external": "dontcare", "recording_out_external": "dontcare",
            "recording_in_internal": "dontcare", "recording_out_internal": "dontcare",
            "recording_ondemand": "disabled", "recording_priority": "10", "avpf": "no",
            "callerid": f"device <{ext}>", "canreinvite": "no", "context": "from-internal",
            "deny": "0.0.0.0/0.0.0.0", "dtmfmode": "rfc2833", "encryption": "no",
            "force_avp": "no", "host": "dynamic", "icesupport": "no", "mailbox": f"{ext}@device",
            "nat": "no", "permit": "0.0.0.0/0.0.0.0", "port": "5060", "qualify": "yes",
            "qualifyfreq": "60", "secret": secret, "sendrpid": "pai", "sessiontimers": "accept",
            "sipdriver": "chan_sip", "transport": "udp,tcp,tls", "trustrpid": "yes",
            "type": "friend", "videosupport": "inherit", "findmefollow_strategy": "ringallv2",
            "findmefollow_grptime": "20", "findmefollow_grplist": ext,
            "findmefollow_postdest": f"ext-local,vmu{ext},1", "findmefollow_ringing": "Ring",
            "findmefollow_pre_ring": "0", "findmefollow_voicemail": "default",
            "findmefollow_changecid": "default", "voicemail_enable": "yes",
            "voicemail_vmpwd": ext, "voicemail_options": "attach=no|saycid=no|envelope=no|delete=no",
        }.get(col, "")
    return [row[i] for i in range(len(FREEPBX13_SIP))]


def main():
    with open("freepbx16-pjsip-export.csv", "w", newline="") as f:
        f.write(php_row(FREEPBX16_PJSIP))
        f.write(php_row(pjsip16("2001", "Reception", "5ac9b2f18e0d4c7a91e3")))
        f.write(php_row(pjsip16("2002", "Müller, Jürgen (Sales)", "7f3e0a9c2b6d48e1")))
        f.write(php_row(pjsip16("2003", 'Lager "Nord"', "9b1c",
                                description='Lager "Nord"\nRampe 2')))
        f.write(php_row(pjsip16("2004", "Fax corner", "0f8e2d6c4b1a39574c2e8f0d6b1a3957")))
        f.write(php_row(pjsip16("2005", "Night service", "", tech="virtual")))
        f.write(php_row(pjsip16("2006", "Door bell", "", tech="custom")))
        f.write(php_row(pjsip16("2010", "Conference room", "c4d2e8f1a7b3")))

    with open("spreadsheet-bom-crlf.csv", "w", newline="", encoding="utf-8-sig") as f:
        rows = [
            ["EXTENSION", "NAME", "TECH", "SECRET", "DESCRIPTION", "VOICEMAIL"],
            ["2001", "Reception", "pjsip", "5ac9b2f18e0d4c7a91e3", "Reception", "default"],
            ["2002", "Müller, Jürgen (Sales)", "pjsip", "7f3e0a9c2b6d48e1",
             "Müller, Jürgen (Sales)", "default"],
            ["2010", "Conference room", "pjsip", "c4d2e8f1a7b3", "Conference room", "novm"],
            ["2004", "Fax corner", "pjsip", "", "Fax corner", "novm"],
            ["", "", "", "", "", ""],
        ]
        for row in rows:
            # A spreadsheet quotes only what needs it, and ends lines in CRLF.
            f.write(",".join('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n')
                             else v for v in row) + "\r\n")

    with open("freepbx13-sip-export.csv", "w", newline="") as f:
        f.write(",".join(FREEPBX13_SIP) + "\n")
        f.write(php_row(sip13("146", "Front Office", "8d1f0c2a")))
        f.write(php_row(sip13("818", "Workshop", "3e9b7a41")))
        # FreePBX's own sample export ends in a row that only carries voicemail columns.
        tail = [""] * len(FREEPBX13_SIP)
        tail[FREEPBX13_SIP.index("voicemail_enable")] = "yes"
        tail[FREEPBX13_SIP.index("voicemail_vmpwd")] = "5678"
        tail[FREEPBX13_SIP.index("voicemail_email")] = "root@localhost"
        f.write(php_row(tail))


if __name__ == "__main__":
    main()
