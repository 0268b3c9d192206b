//! The IMAP client machine: being written (see the server for the shape it will take).
