//! The ids and ARNs of IAM Identity Center: instances (`arn:aws:sso:::instance/ssoins-…`) and
//! permission sets (`arn:aws:sso:::permissionSet/ssoins-…/ps-…`), both with 16 characters
//! after their prefix, as the model's patterns and the ARNs seen in public issue threads
//! (`ssoins-7223f2657cbbfca9`, `ps-6d75858c2108c06a`) have them.
//!
//! An instance is a tenant, and its id is derived from the tenant's identity store id, so that
//! it is stable without being stored: `ssoins-`, 6 hex digits of the SHA-256 of the identity
//! store id (a check that keeps made-up ids from naming a tenant), then the store's 10 hex
//! digits, which lead back to the tenant. AWS documents no relation between the two ids
//! (inferred: any stable 16 characters serve).

use sha2::{Digest, Sha256};

use super::{Checked, Invalid};

pub(super) fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `arn:aws(-[a-z]{1,5}){0,3}`: what follows the partition of an ARN.
pub(super) fn strip_partition(value: &str) -> Option<&str> {
    let rest = value.strip_prefix("arn:aws")?;
    let mut rest = rest;
    for _ in 0..3 {
        let Some(after) = rest.strip_prefix('-') else {
            break;
        };
        let end = after
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(after.len());
        if !(1..=5).contains(&end) {
            return None;
        }
        rest = &after[end..];
    }
    rest.starts_with(':').then_some(rest)
}

fn checksum(identity_store_id: &str) -> String {
    let digest = Sha256::digest(identity_store_id.as_bytes());
    crate::text::hex(&digest[..3])
}

/// The instance id of a tenant: `ssoins-` and 16 hex digits.
pub fn instance_id(identity_store_id: &str) -> String {
    let hex = identity_store_id
        .strip_prefix("d-")
        .unwrap_or(identity_store_id);
    format!("ssoins-{}{hex}", checksum(identity_store_id))
}

/// The identity store id an instance id names, if it is one this server made.
pub fn identity_store_of_instance(instance_id: &str) -> Option<String> {
    let rest = instance_id.strip_prefix("ssoins-")?;
    let (check, hex) = rest.split_at_checked(6)?;
    if hex.len() != 10 || !is_lower_hex(hex) {
        return None;
    }
    let store = format!("d-{hex}");
    (checksum(&store) == check).then_some(store)
}

/// The 12-digit account that owns the instance: derived from the identity store's digits, so
/// that it is stable (AWS shows the management account; the emulator has no organization).
pub fn owner_account_id(identity_store_id: &str) -> String {
    let hex = identity_store_id
        .strip_prefix("d-")
        .unwrap_or(identity_store_id);
    let n = u64::from_str_radix(hex, 16).unwrap_or(0) % 1_000_000_000_000;
    format!("{n:012}")
}

pub fn instance_arn(instance_id: &str) -> String {
    format!("arn:aws:sso:::instance/{instance_id}")
}

pub fn permission_set_arn(instance_id: &str, permission_set_id: &str) -> String {
    format!("arn:aws:sso:::permissionSet/{instance_id}/{permission_set_id}")
}

/// A new permission set id: `ps-` and 16 hex digits.
pub fn new_permission_set_id() -> String {
    let hex = crate::text::random_uuid().simple().to_string();
    format!("ps-{}", &hex[..16])
}

/// `(sso)?ins-` and 16 of `[a-zA-Z0-9-.]`: an instance id of the model's pattern.
fn instance_part(s: &str) -> Option<&str> {
    let id = s
        .strip_prefix("ssoins-")
        .or_else(|| s.strip_prefix("ins-"))?;
    (id.len() == 16
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    .then_some(s)
}

/// The ARNs of the model, parsed to the ids they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arn<'a> {
    Instance(&'a str),
    PermissionSet {
        instance_id: &'a str,
        permission_set_id: &'a str,
    },
    /// An application or trusted token issuer (`TaggableResourceArn` has them); the emulator
    /// has neither.
    Other,
}

impl<'a> Arn<'a> {
    /// `InstanceArn`: `arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}`.
    pub fn instance(member: &str, value: &'a str) -> Checked<&'a str> {
        match Self::parse(value) {
            Some(Self::Instance(id)) if (10..=1224).contains(&value.len()) => Ok(id),
            _ => Err(Invalid::constraint(
                member,
                "Member must satisfy regular expression pattern: arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}",
            )),
        }
    }

    /// `PermissionSetArn`: `...:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}`,
    /// as the instance id and the permission set id.
    pub fn permission_set(member: &str, value: &'a str) -> Checked<(&'a str, &'a str)> {
        match Self::parse(value) {
            Some(Self::PermissionSet {
                instance_id,
                permission_set_id,
            }) if (10..=1224).contains(&value.len()) => Ok((instance_id, permission_set_id)),
            _ => Err(Invalid::constraint(
                member,
                "Member must satisfy regular expression pattern: arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}",
            )),
        }
    }

    /// `TaggableResourceArn`: an instance, a permission set, an application or a trusted
    /// token issuer.
    pub fn taggable(member: &str, value: &'a str) -> Checked<Self> {
        match Self::parse(value) {
            Some(arn) if (10..=2048).contains(&value.len()) => Ok(arn),
            _ => Err(Invalid::constraint(
                member,
                "Member must satisfy regular expression pattern: arn:aws(-[a-z]{1,5}){0,3}:sso::((:instance/...)|(:permissionSet/...)|(\\d{12}:application/...)|(\\d{12}:trustedTokenIssuer/...))",
            )),
        }
    }

    fn parse(value: &'a str) -> Option<Self> {
        let rest = strip_partition(value)?.strip_prefix(":sso::")?;
        if let Some(id) = rest.strip_prefix(":instance/") {
            return instance_part(id).map(Self::Instance);
        }
        if let Some(path) = rest.strip_prefix(":permissionSet/") {
            let (instance, ps) = path.split_once('/')?;
            let ps_valid = ps.strip_prefix("ps-").is_some_and(|id| {
                id.len() == 16
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-./".contains(c))
            });
            return (instance_part(instance).is_some() && ps_valid).then_some(
                Self::PermissionSet {
                    instance_id: instance,
                    permission_set_id: ps,
                },
            );
        }
        let (account, resource) = rest.split_once(':')?;
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let other =
            resource.starts_with("application/") || resource.starts_with("trustedTokenIssuer/");
        (account_ok && other).then_some(Self::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_lead_back_to_their_identity_store_and_only_ours_do() {
        let id = instance_id("d-9067729b3d");
        assert_eq!(id.len(), "ssoins-".len() + 16);
        assert!(id.ends_with("9067729b3d"));
        assert_eq!(
            identity_store_of_instance(&id).as_deref(),
            Some("d-9067729b3d")
        );
        // A made-up id of the right shape does not name a tenant.
        let forged = format!("ssoins-000000{}", "9067729b3d");
        assert_ne!(forged, id);
        assert_eq!(identity_store_of_instance(&forged), None);
        assert_eq!(identity_store_of_instance("ssoins-7223f2657cbbfca9"), None);
        assert_eq!(owner_account_id("d-9067729b3d").len(), 12);
        assert_eq!(
            owner_account_id("d-9067729b3d"),
            owner_account_id("d-9067729b3d")
        );
    }

    #[test]
    fn arns_are_parsed_by_the_model_patterns() {
        let i = "arn:aws:sso:::instance/ssoins-7223f2657cbbfca9";
        assert_eq!(
            Arn::instance("instanceArn", i),
            Ok("ssoins-7223f2657cbbfca9")
        );
        assert_eq!(
            Arn::instance(
                "instanceArn",
                "arn:aws-us-gov:sso:::instance/ins-abcdefgh12345678"
            ),
            Ok("ins-abcdefgh12345678")
        );
        for bad in [
            "arn:aws:sso:::instance/ssoins-7223",
            "arn:aws:sso::123456789012:instance/ssoins-7223f2657cbbfca9",
            "arn:aws:iam:::instance/ssoins-7223f2657cbbfca9",
            "ssoins-7223f2657cbbfca9",
            "arn:aws-toolong:sso:::instance/ssoins-7223f2657cbbfca9",
        ] {
            assert!(Arn::instance("instanceArn", bad).is_err(), "{bad}");
        }
        let ps = "arn:aws:sso:::permissionSet/ssoins-7223f2657cbbfca9/ps-6d75858c2108c06a";
        assert_eq!(
            Arn::permission_set("permissionSetArn", ps),
            Ok(("ssoins-7223f2657cbbfca9", "ps-6d75858c2108c06a"))
        );
        assert!(Arn::permission_set("permissionSetArn", i).is_err());
        assert!(
            Arn::permission_set(
                "p",
                "arn:aws:sso:::permissionSet/ssoins-7223f2657cbbfca9/ps-6d75"
            )
            .is_err()
        );
        assert_eq!(
            Arn::taggable("resourceArn", ps),
            Ok(Arn::PermissionSet {
                instance_id: "ssoins-7223f2657cbbfca9",
                permission_set_id: "ps-6d75858c2108c06a"
            })
        );
        assert_eq!(
            Arn::taggable(
                "resourceArn",
                "arn:aws:sso::123456789012:application/ssoins-7223f2657cbbfca9/apl-1234567890abcdef"
            ),
            Ok(Arn::Other)
        );
        let new = new_permission_set_id();
        assert_eq!(new.len(), 19);
        let arn = permission_set_arn(&instance_id("d-0123456789"), &new);
        assert!(Arn::permission_set("p", &arn).is_ok());
    }
}
