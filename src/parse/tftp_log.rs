//! Placeholder: the TFTP log line parser is being written.
