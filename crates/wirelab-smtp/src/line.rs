//! Lines of SMTP (RFC 5321 §2.3.8, §4.5.3.1): CRLF only, with a length limit; the
//! shared line cutter of `wirelab_core::lines`.

pub use wirelab_core::lines::{Line, LineBuffer};
