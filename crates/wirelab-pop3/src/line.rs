//! Lines of POP3 (RFC 1939 §3: "All responses are terminated by a CRLF pair"): CRLF
//! only, with a length limit; the shared line cutter of `wirelab_core::lines`.

pub use wirelab_core::lines::{Line, LineBuffer};
