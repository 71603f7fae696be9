//! The HTTP face of the service: axum routers for each feature.
pub mod token;
