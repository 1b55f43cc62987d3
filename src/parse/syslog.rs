//! Placeholder: the syslog prefix parser is being written.
