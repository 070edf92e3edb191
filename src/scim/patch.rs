//! PLACEHOLDER: to be replaced by the PATCH engine.
