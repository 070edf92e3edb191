//! idc-scim: a SCIM 2.0 service provider that behaves like the SCIM endpoint of AWS IAM
//! Identity Center.

pub mod scim;
