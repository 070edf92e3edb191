//! IAM Identity Center's access to AWS accounts, as pure rules: the accounts of an
//! organization, permission sets (their attributes, policies and tags), account assignments,
//! and the ids and ARNs of instances and permission sets. No HTTP, no SQL: the sso-admin API
//! (`aws::ssoadmin`), the store and the fixtures share these rules.
//!
//! Patterns and lengths are those of the sso-admin service model
//! (`botocore/data/sso-admin/2020-07-20/service-2.json`); limits are those of "Quotas and
//! limits in IAM Identity Center" (user guide); AWS Organizations' account name and email rules
//! are those of its `CreateAccount` model. Where AWS documents nothing the choice is said.

pub mod ids;
pub mod policy;

use std::fmt;

pub use ids::{
    Arn, identity_store_of_instance, instance_arn, instance_id, new_permission_set_id,
    owner_account_id, permission_set_arn,
};

/// A value that breaks a rule of an AWS JSON API of IAM Identity Center (`ValidationException`);
/// `Display` gives AWS's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A member breaks a constraint of the service model; `member` is named as AWS names it
    /// in its messages (`sessionDuration`, `customerManagedPolicyReference.name`).
    Constraint { member: String, constraint: String },
    /// A required member is absent.
    Missing { member: String },
    /// A rule of the service beyond the model, in the service's words.
    Rule(String),
}

impl Invalid {
    pub fn constraint(member: &str, constraint: impl Into<String>) -> Self {
        Self::Constraint {
            member: member.to_owned(),
            constraint: constraint.into(),
        }
    }

    pub fn missing(member: &str) -> Self {
        Self::Missing {
            member: member.to_owned(),
        }
    }

    fn pattern(member: &str, pattern: &str) -> Self {
        Self::constraint(
            member,
            format!("Member must satisfy regular expression pattern: {pattern}"),
        )
    }

    fn length(member: &str, min: usize, max: usize) -> Self {
        Self::constraint(
            member,
            format!("Member must have length between {min} and {max}"),
        )
    }
}

impl fmt::Display for Invalid {
    /// AWS's wording of a validation error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constraint { member, constraint } => write!(
                f,
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
            ),
            Self::Missing { member } => write!(
                f,
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
            Self::Rule(message) => f.write_str(message),
        }
    }
}

pub type Checked<T = ()> = Result<T, Invalid>;

/// Permission sets an instance may hold (quota "Number of permission sets allowed in IAM
/// Identity Center").
pub const MAX_PERMISSION_SETS: usize = 3500;
/// AWS managed and customer managed policies attached to one permission set, together.
pub const MAX_ATTACHED_POLICIES: usize = 20;
/// Tags on one resource: the model's `TagList` maximum.
pub const MAX_TAGS: usize = 75;
/// `SessionDuration` when none is given.
pub const DEFAULT_SESSION_DURATION: &str = "PT1H";
/// The session durations the console offers, 1 to 12 hours, in seconds.
pub const SESSION_SECONDS: std::ops::RangeInclusive<f64> = 3600.0..=43200.0;

fn chars_between(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.chars().count())
}

/// `[\w+=,.@-]`, with `\w` as Java reads it (ASCII letters, digits and `_`).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `PermissionSetName`: 1 to 32 of `[\w+=,.@-]`.
pub fn permission_set_name(member: &str, value: &str) -> Checked {
    if !chars_between(value, 1, 32) {
        return Err(Invalid::length(member, 1, 32));
    }
    if !value.chars().all(is_name_char) {
        return Err(Invalid::pattern(member, r"[\w+=,.@-]+"));
    }
    Ok(())
}

/// `PermissionSetDescription`: 1 to 700 of tab, newline, return, printable ASCII and Latin-1.
pub fn description(member: &str, value: &str) -> Checked {
    if !chars_between(value, 1, 700) {
        return Err(Invalid::length(member, 1, 700));
    }
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}');
    if !value.chars().all(allowed) {
        return Err(Invalid::pattern(
            member,
            r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
        ));
    }
    Ok(())
}

/// `RelayState`: 1 to 240 characters of a URL.
pub fn relay_state(member: &str, value: &str) -> Checked {
    if !chars_between(value, 1, 240) {
        return Err(Invalid::length(member, 1, 240));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || "&$@#\\/%?=~-_'\"|!:,.;*+[] (){}".contains(c);
    if !value.chars().all(allowed) {
        return Err(Invalid::pattern(
            member,
            r#"[a-zA-Z0-9&$@#\\\/%?=~\-_'"|!:,.;*+\[\]\ \(\)\{\}]+"#,
        ));
    }
    Ok(())
}

/// `SessionDuration`: an ISO 8601 duration (the model's pattern) of 1 to 12 hours.
pub fn session_duration(member: &str, value: &str) -> Checked {
    if !chars_between(value, 1, 100) {
        return Err(Invalid::length(member, 1, 100));
    }
    let seconds = duration_seconds(value).ok_or_else(|| {
        Invalid::pattern(
            member,
            r"(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?",
        )
    })?;
    // AWS's console offers 1 to 12 hours and its user guide states that range; the exact
    // message of the API is not documented (inferred).
    if !SESSION_SECONDS.contains(&seconds) {
        return Err(Invalid::Rule(format!(
            "SessionDuration {value} is out of range: a session lasts from PT1H (1 hour) to PT12H (12 hours)."
        )));
    }
    Ok(())
}

/// The length of an ISO 8601 duration in the model's form, in seconds (a year as 365 days, a
/// month as 30); `None` when it does not have that form. The access portal's credentials last
/// a permission set's `SessionDuration`.
pub fn duration_seconds(value: &str) -> Option<f64> {
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, value),
    };
    let rest = rest.strip_prefix('P')?;
    // `(?=\d|T\d)`: something must follow, and a `T` must be followed by a digit.
    if !(rest.starts_with(|c: char| c.is_ascii_digit())
        || rest
            .strip_prefix('T')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())))
    {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    const DAY: f64 = 86400.0;
    let mut total = 0.0;
    let mut order = 0;
    for (number, unit) in components(date)? {
        let (rank, scale) = match unit {
            'Y' => (1, 365.0 * DAY),
            'M' => (2, 30.0 * DAY),
            'D' => (3, DAY),
            'W' => (3, 7.0 * DAY),
            _ => return None,
        };
        if rank <= order || number.contains('.') {
            return None;
        }
        order = rank;
        total += number.parse::<f64>().ok()? * scale;
    }
    if let Some(time) = time {
        let mut order = 0;
        for (number, unit) in components(time)? {
            let (rank, scale) = match unit {
                'H' => (1, 3600.0),
                'M' => (2, 60.0),
                'S' => (3, 1.0),
                _ => return None,
            };
            if rank <= order || (unit != 'S' && number.contains('.')) {
                return None;
            }
            order = rank;
            total += number.parse::<f64>().ok()? * scale;
        }
    }
    Some(sign * total)
}

/// `12H30M` → `[("12", 'H'), ("30", 'M')]`; numbers are digits with an optional fraction.
fn components(text: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() || c == '.' {
            continue;
        }
        let number = &text[start..i];
        let well_formed = match number.split_once('.') {
            Some((whole, fraction)) => {
                !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.')
            }
            None => !number.is_empty(),
        };
        if !well_formed {
            return None;
        }
        out.push((number, c));
        start = i + c.len_utf8();
    }
    (start == text.len()).then_some(out)
}

/// A permission set's own attributes, as CreatePermissionSet and UpdatePermissionSet set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetAttrs {
    pub name: String,
    pub description: Option<String>,
    /// ISO 8601, as given.
    pub session_duration: String,
    pub relay_state: Option<String>,
}

impl PermissionSetAttrs {
    /// Checks every attribute, naming members as AWS does.
    pub fn check(&self) -> Checked {
        permission_set_name("name", &self.name)?;
        if let Some(d) = &self.description {
            description("description", d)?;
        }
        session_duration("sessionDuration", &self.session_duration)?;
        if let Some(r) = &self.relay_state {
            relay_state("relayState", r)?;
        }
        Ok(())
    }

    /// The key of the name's uniqueness within an instance. Permission sets become IAM roles,
    /// whose names are unique without regard to case; AWS does not say how it compares
    /// permission set names (inferred).
    pub fn name_key(&self) -> String {
        self.name.to_lowercase()
    }
}

/// The two kinds of managed policy a permission set refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    AwsManaged,
    CustomerManaged,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwsManaged => "AWS_MANAGED",
            Self::CustomerManaged => "CUSTOMER_MANAGED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::AwsManaged, Self::CustomerManaged]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// A managed policy attached to a permission set, or its permissions boundary: an AWS managed
/// policy by ARN, or a reference to a customer managed policy (by name and path) that each
/// account must hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyRef {
    AwsManaged { arn: String },
    CustomerManaged { name: String, path: String },
}

/// `ManagedPolicyPath`'s default.
pub const DEFAULT_POLICY_PATH: &str = "/";

impl PolicyRef {
    /// An AWS managed policy: `arn:aws:iam::aws:policy[/path]/Name`, 20 to 2048 characters.
    /// Whether the policy exists is not checked: the emulator has no catalogue of AWS's
    /// policies.
    pub fn aws_managed(member: &str, arn: &str) -> Checked<Self> {
        if !chars_between(arn, 20, 2048) {
            return Err(Invalid::length(member, 20, 2048));
        }
        let segment_char = |c: char| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c);
        let valid = ids::strip_partition(arn)
            .and_then(|rest| rest.strip_prefix(":iam::aws:policy/"))
            .is_some_and(|path| {
                path.split('/')
                    .all(|s| !s.is_empty() && s.chars().all(segment_char))
            });
        if !valid {
            return Err(Invalid::pattern(
                member,
                r"arn:aws(-[a-z]{1,5}){0,3}:iam::aws:policy((/[A-Za-z0-9\.,\+@=_-]+)*)/([A-Za-z0-9\.,\+=@_-]+)",
            ));
        }
        Ok(Self::AwsManaged {
            arn: arn.to_owned(),
        })
    }

    /// A customer managed policy reference: a name of 1 to 128 of `[\w+=,.@-]`, and a path
    /// (`/` when absent) of 1 to 512 characters that starts and ends with `/`.
    pub fn customer_managed(member: &str, name: &str, path: Option<&str>) -> Checked<Self> {
        let name_member = format!("{member}.name");
        if !chars_between(name, 1, 128) {
            return Err(Invalid::length(&name_member, 1, 128));
        }
        if !name.chars().all(is_name_char) {
            return Err(Invalid::pattern(&name_member, r"[\w+=,.@-]+"));
        }
        let path = path.unwrap_or(DEFAULT_POLICY_PATH);
        let path_member = format!("{member}.path");
        if !chars_between(path, 1, 512) {
            return Err(Invalid::length(&path_member, 1, 512));
        }
        let segment_char = |c: char| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c);
        let valid = path.strip_prefix('/').is_some_and(|inner| {
            inner.is_empty()
                || inner.strip_suffix('/').is_some_and(|s| {
                    s.split('/')
                        .all(|seg| !seg.is_empty() && seg.chars().all(segment_char))
                })
        });
        if !valid {
            return Err(Invalid::pattern(
                &path_member,
                r"((/[A-Za-z0-9\.,\+@=_-]+)*)/",
            ));
        }
        Ok(Self::CustomerManaged {
            name: name.to_owned(),
            path: path.to_owned(),
        })
    }

    pub fn kind(&self) -> PolicyKind {
        match self {
            Self::AwsManaged { .. } => PolicyKind::AwsManaged,
            Self::CustomerManaged { .. } => PolicyKind::CustomerManaged,
        }
    }

    /// What the store keeps: the ARN, or the path followed by the name (a path ends with `/`
    /// and a name has none, so the two come apart again at the last `/`).
    pub fn reference(&self) -> String {
        match self {
            Self::AwsManaged { arn } => arn.clone(),
            Self::CustomerManaged { name, path } => format!("{path}{name}"),
        }
    }

    /// The policy a stored kind and reference name.
    pub fn from_stored(kind: &str, reference: &str) -> Option<Self> {
        match PolicyKind::parse(kind)? {
            PolicyKind::AwsManaged => Some(Self::AwsManaged {
                arn: reference.to_owned(),
            }),
            PolicyKind::CustomerManaged => {
                let (path, name) = reference.rsplit_once('/')?;
                Some(Self::CustomerManaged {
                    name: name.to_owned(),
                    path: format!("{path}/"),
                })
            }
        }
    }

    /// The policy's name: an AWS managed policy's is the last segment of its ARN.
    pub fn name(&self) -> &str {
        match self {
            Self::AwsManaged { arn } => arn.rsplit('/').next().unwrap_or(arn),
            Self::CustomerManaged { name, .. } => name,
        }
    }
}

/// A tag of an instance or a permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: letters, spaces, numbers and a few signs.
fn is_tag_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == ' ' || c == '\u{a0}' || "_.:/=+-@".contains(c)
}

/// `TagKey`: 1 to 128 characters.
pub fn tag_key(member: &str, key: &str) -> Checked {
    if !chars_between(key, 1, 128) {
        return Err(Invalid::length(member, 1, 128));
    }
    if !key.chars().all(is_tag_char) {
        return Err(Invalid::pattern(member, r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"));
    }
    Ok(())
}

/// A list of tags: at most `MAX_TAGS`, each key 1 to 128 and each value 0 to 256 characters,
/// no key twice.
pub fn tags(member: &str, tags: &[Tag]) -> Checked {
    if tags.len() > MAX_TAGS {
        return Err(Invalid::constraint(
            member,
            format!("Member must have length less than or equal to {MAX_TAGS}"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        tag_key(&format!("{member}.member.key"), &tag.key)?;
        let value_member = format!("{member}.member.value");
        if !chars_between(&tag.value, 0, 256) {
            return Err(Invalid::length(&value_member, 0, 256));
        }
        if !tag.value.chars().all(is_tag_char) {
            return Err(Invalid::pattern(
                &value_member,
                r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)",
            ));
        }
        if !seen.insert(tag.key.as_str()) {
            return Err(Invalid::Rule(format!("Duplicate tag key {}.", tag.key)));
        }
    }
    Ok(())
}

/// `AccountId` and `TargetId`: 12 digits.
pub fn account_id(member: &str, value: &str) -> Checked {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Invalid::pattern(member, r"\d{12}"))
    }
}

/// An AWS account of the organization, as the operator declares it (in the admin API and in
/// fixtures: `{"accountId", "name", "email"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    pub account_id: String,
    pub name: String,
    pub email: String,
}

impl Account {
    /// AWS Organizations' rules: a 12-digit id, a name of 1 to 50 printable ASCII characters,
    /// an email of 6 to 64 characters of the form `local@domain.tld`.
    pub fn check(&self) -> Checked {
        account_id("accountId", &self.account_id)?;
        if !chars_between(&self.name, 1, 50) {
            return Err(Invalid::length("name", 1, 50));
        }
        if !self.name.chars().all(|c| matches!(c, '\u{20}'..='\u{7e}')) {
            return Err(Invalid::pattern("name", r"[\u0020-\u007E]+"));
        }
        if !chars_between(&self.email, 6, 64) {
            return Err(Invalid::length("email", 6, 64));
        }
        let no_space_or_at =
            |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '@');
        let valid = self.email.split_once('@').is_some_and(|(local, domain)| {
            no_space_or_at(local)
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(host, tld)| no_space_or_at(host) && no_space_or_at(tld))
        });
        if !valid {
            return Err(Invalid::pattern("email", r"[^\s@]+@[^\s@]+\.[^\s@]+"));
        }
        Ok(())
    }
}

/// Who an assignment gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalType {
    Group,
    User,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Group]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

/// A user or a group of the instance's identity store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: PrincipalType,
    pub id: String,
}

/// `PrincipalId`: `([0-9a-f]{10}-|)` and a UUID, at most 47 characters.
pub fn principal_id(member: &str, value: &str) -> Checked {
    let uuid = |s: &str| {
        let groups: Vec<&str> = s.split('-').collect();
        groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let valid = match value.split_at_checked(11) {
        Some((prefix, rest)) if prefix.ends_with('-') && ids::is_lower_hex(&prefix[..10]) => {
            uuid(rest)
        }
        _ => uuid(value),
    };
    if valid && value.len() <= 47 {
        Ok(())
    } else {
        Err(Invalid::pattern(
            member,
            "([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}",
        ))
    }
}

/// A principal's access to an account with a permission set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assignment {
    pub account_id: String,
    /// `ps-...`
    pub permission_set_id: String,
    pub principal: Principal,
}

/// The asynchronous operations whose status the API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    AssignmentCreation,
    AssignmentDeletion,
    Provisioning,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssignmentCreation => "ASSIGNMENT_CREATION",
            Self::AssignmentDeletion => "ASSIGNMENT_DELETION",
            Self::Provisioning => "PROVISIONING",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::AssignmentCreation,
            Self::AssignmentDeletion,
            Self::Provisioning,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// `StatusValues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationStatus {
    InProgress,
    Failed,
    Succeeded,
}

impl OperationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Failed => "FAILED",
            Self::Succeeded => "SUCCEEDED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::InProgress, Self::Failed, Self::Succeeded]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// Two parts of a listing's position in one keyset key (`store::keyset` encodes it). The
/// parts hold no `/`: account ids, `ps-` ids, principal types and ids, decimal times, UUIDs.
pub fn key_pair(first: &str, second: &str) -> String {
    format!("{first}/{second}")
}

/// The parts of a `key_pair`.
pub fn split_key_pair(key: &str) -> Option<(&str, &str)> {
    key.split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_durations_follow_the_iso_form_and_the_range() {
        for ok in [
            "PT1H",
            "PT12H",
            "PT8H",
            "PT90M",
            "PT3600S",
            "PT1H30M",
            "PT7200.5S",
        ] {
            assert_eq!(session_duration("sessionDuration", ok), Ok(()), "{ok}");
        }
        for bad_form in [
            "1H", "PT", "P", "PTH", "PT1.5H", "PT1H2H", "PT30M1H", "P1H", "PT1HX",
        ] {
            assert!(
                matches!(
                    session_duration("sessionDuration", bad_form),
                    Err(Invalid::Constraint { .. })
                ),
                "{bad_form}"
            );
        }
        for out_of_range in ["PT59M", "PT13H", "P1D", "-PT2H", "PT0S", "P1Y"] {
            assert!(
                matches!(
                    session_duration("sessionDuration", out_of_range),
                    Err(Invalid::Rule(_))
                ),
                "{out_of_range}"
            );
        }
        assert_eq!(duration_seconds("P1W"), Some(7.0 * 86400.0));
        assert_eq!(duration_seconds("PT0.5S"), Some(0.5));
    }

    #[test]
    fn names_descriptions_and_relay_states_follow_the_model() {
        assert!(permission_set_name("name", "Admin_Access+1=,.@-").is_ok());
        assert!(permission_set_name("name", "").is_err());
        assert!(permission_set_name("name", &"a".repeat(33)).is_err());
        assert!(permission_set_name("name", "has space").is_err());
        assert!(permission_set_name("name", "é").is_err());
        assert!(description("description", "Read-only, für alle.\n").is_ok());
        assert!(description("description", "emoji 🙂").is_err());
        assert!(description("description", &"d".repeat(701)).is_err());
        assert!(
            relay_state(
                "relayState",
                "https://console.aws.amazon.com/s3/home?region=us-east-1#"
            )
            .is_ok()
        );
        assert!(relay_state("relayState", "tab\there").is_err());
    }

    #[test]
    fn policy_references_are_checked_and_stored_reversibly() {
        let managed = PolicyRef::aws_managed(
            "managedPolicyArn",
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        )
        .unwrap();
        assert_eq!(managed.name(), "ViewOnlyAccess");
        for bad in [
            "arn:aws:iam::123456789012:policy/Mine",
            "arn:aws:iam::aws:policy/",
            "arn:aws:iam::aws:policy//X",
            "arn:aws:s3::aws:policy/ReadOnly",
            "ReadOnlyAccess",
        ] {
            assert!(
                PolicyRef::aws_managed("managedPolicyArn", bad).is_err(),
                "{bad}"
            );
        }
        assert!(
            PolicyRef::aws_managed("m", "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess").is_ok()
        );
        let customer = PolicyRef::customer_managed(
            "customerManagedPolicyReference",
            "S3Read",
            Some("/teams/data/"),
        )
        .unwrap();
        let default_path = PolicyRef::customer_managed("c", "S3Read", None).unwrap();
        for p in [&managed, &customer, &default_path] {
            assert_eq!(
                PolicyRef::from_stored(p.kind().as_str(), &p.reference()).as_ref(),
                Some(p)
            );
        }
        assert_eq!(default_path.reference(), "/S3Read");
        for (name, path) in [
            ("S3 Read", None),
            ("S3Read", Some("teams/")),
            ("S3Read", Some("/teams")),
            ("S3Read", Some("//")),
        ] {
            assert!(
                PolicyRef::customer_managed("c", name, path).is_err(),
                "{name} {path:?}"
            );
        }
    }

    #[test]
    fn accounts_tags_and_principals_follow_their_rules() {
        let account = |id: &str, name: &str, email: &str| Account {
            account_id: id.into(),
            name: name.into(),
            email: email.into(),
        };
        assert!(
            account("111111111111", "dev", "dev@example.com")
                .check()
                .is_ok()
        );
        assert!(
            account("11111111111", "dev", "dev@example.com")
                .check()
                .is_err()
        );
        assert!(
            account("111111111111", "", "dev@example.com")
                .check()
                .is_err()
        );
        assert!(
            account("111111111111", "dev", "dev@example")
                .check()
                .is_err()
        );
        assert!(
            account("111111111111", "dev", "d ev@example.com")
                .check()
                .is_err()
        );
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(tags("tags", &[tag("team", "data eng"), tag("cost:centre", "")]).is_ok());
        assert!(tags("tags", &[tag("", "x")]).is_err());
        assert!(tags("tags", &[tag("a", "x"), tag("a", "y")]).is_err());
        assert!(tags("tags", &[tag("a", "semi;colon")]).is_err());
        let many: Vec<Tag> = (0..=MAX_TAGS).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(tags("tags", &many).is_err());
        assert!(
            principal_id(
                "principalId",
                "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001"
            )
            .is_ok()
        );
        assert!(principal_id("principalId", "a1b2c3d4-5678-90ab-cdef-000000000001").is_ok());
        assert!(principal_id("principalId", "jane").is_err());
        assert_eq!(
            split_key_pair(&key_pair("USER", "x-1")),
            Some(("USER", "x-1"))
        );
        assert_eq!(split_key_pair("nothing"), None);
    }
}
