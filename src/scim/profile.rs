//! The two behaviours the server offers (`--profile`): `aws`, IAM Identity Center's exact rules
//! and limits (AWS-SCIM.md), and `rfc`, the full SCIM 2.0 protocol of RFC 7643/7644 for
//! connectors written against other SCIM providers.

/// Which rules the SCIM endpoint follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// AWS's rules, limits and error bodies, exactly.
    #[default]
    Aws,
    /// RFC 7644: every filter on every attribute, sorting, index paging, attribute selection,
    /// `/.search`, ETags, returned members, PUT of groups, RFC error bodies.
    Rfc,
}

impl Profile {
    pub fn is_rfc(self) -> bool {
        self == Self::Rfc
    }
}
