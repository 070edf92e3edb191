//! The two behaviours the server offers (`--profile`): `aws`, IAM Identity Center's exact rules
//! and limits (AWS-SCIM.md), and `rfc`, the full SCIM 2.0 protocol of RFC 7643/7644 for
//! connectors written against other SCIM providers.

use std::fmt;
use std::str::FromStr;

/// Which rules the SCIM endpoint follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    #[default]
    Aws,
    Rfc,
}

/// A profile name that is neither `aws` nor `rfc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile \"{0}\" (expected aws or rfc)")]
pub struct UnknownProfile(pub String);

impl Profile {
    pub const ALL: [Profile; 2] = [Self::Aws, Self::Rfc];

    pub fn is_rfc(self) -> bool {
        self == Self::Rfc
    }

    /// The name `--profile` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Rfc => "rfc",
        }
    }

    /// What the profile does, in a line.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Aws => "AWS's rules, limits and error bodies, exactly",
            Self::Rfc => {
                "RFC 7644: every filter on every attribute, sorting, index paging, attribute \
                 selection, `/.search`, ETags, returned members, PUT of groups, RFC error bodies"
            }
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse(), Ok(p));
        }
        assert_eq!(
            "scim".parse::<Profile>(),
            Err(UnknownProfile("scim".into()))
        );
    }
}
