//! POP3 (RFC 1939) as sans-IO machines (work in progress).
