//! The guided client (placeholder while the server is built).
