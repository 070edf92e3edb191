//! The User resource as IAM Identity Center stores it (AWS-SCIM.md "Users", "Attribute
//! limits"): the typed attributes, the conversion from a request body with AWS's validation
//! rules, and the rules AWS adds to PATCH.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::coerce;
use super::detail::{self, Constraint};
use super::error::{Result, ScimError};
use super::json;
use super::patch::{OpKind, PatchOp};
use super::profile::Profile;
use super::schema::{ENTERPRISE_URN, USER_RESOURCE, is_common};

/// The attribute limits of the Identity Store service model, in characters.
pub mod limits {
    pub const USER_NAME: usize = 128;
    pub const STRING: usize = 1024;
    pub const EXTERNAL_ID: usize = 256;
    /// User names that AWS reserves (compared case-insensitively).
    pub const RESERVED_NAMES: [&str; 2] = ["Administrator", "AWSAdministrators"];
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    pub family_name: String,
    pub given_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// A value with a type and a primary flag, the shape of an email and of a role (RFC 7643
/// §2.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypedValue {
    pub value: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

pub type Email = TypedValue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub value: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A role: AWS lists `roles` among the supported attributes, with one value at most.
pub type Role = TypedValue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manager {
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enterprise {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

impl Enterprise {
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Every attribute of a user that a client sets. Serialises to the SCIM representation
/// (without `id`, `meta` and `schemas`), which is also how the store keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAttrs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub user_name: String,
    pub name: Name,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<Enterprise>,
}

impl UserAttrs {
    /// Validates a create (POST) or replace (PUT) body with AWS's rules.
    pub fn from_request(body: Value) -> Result<Self> {
        Self::from_request_as(body, Profile::Aws)
    }

    /// Validates a create or replace body with the rules of a profile. AWS refuses the
    /// read-only `groups`; RFC 7644 §3.3 and §3.5.1 have it ignored.
    pub fn from_request_as(body: Value, profile: Profile) -> Result<Self> {
        let Value::Object(mut body) = body else {
            return Err(ScimError::unparsable());
        };
        if body.keys().any(|k| k.eq_ignore_ascii_case("groups")) {
            match profile {
                Profile::Aws => {
                    return Err(ScimError::invalid(
                        "Attribute \"groups\" cannot be specified in a user request.",
                    ));
                }
                Profile::Rfc => body.retain(|k, _| !k.eq_ignore_ascii_case("groups")),
            }
        }
        Self::from_json_as(body, profile)
    }

    /// Validates a user in its JSON representation (a request body, or a PATCH result).
    pub fn from_json(body: Map<String, Value>) -> Result<Self> {
        Self::from_json_as(body, Profile::Aws)
    }

    /// Validates a user in its JSON representation with the rules of a profile.
    pub fn from_json_as(body: Map<String, Value>, profile: Profile) -> Result<Self> {
        let canonical = coerce::resource(body, &USER_RESOURCE)?;
        let attrs: Self = serde_json::from_value(Value::Object(canonical)).map_err(|e| {
            // Types were checked attribute by attribute; what remains is a missing
            // required member, which the checks below name better.
            missing_member(&e)
        })?;
        attrs.check(profile)?;
        Ok(attrs.normalize())
    }

    /// The JSON representation that the PATCH engine works on.
    pub fn to_json(&self) -> Map<String, Value> {
        json::to_object(self)
    }

    /// The lowercase user name, unique per tenant.
    pub fn user_name_key(&self) -> String {
        self.user_name.to_lowercase()
    }

    /// The primary email, else the first (the only one in the `aws` profile).
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or(self.emails.first())
            .map(|e| e.value.as_str())
    }

    /// The lowercase primary email, unique per tenant.
    pub fn email_key(&self) -> Option<String> {
        self.primary_email().map(str::to_lowercase)
    }

    pub fn manager_id(&self) -> Option<&str> {
        self.enterprise
            .as_ref()
            .and_then(|e| e.manager.as_ref())
            .map(|m| m.value.as_str())
    }

    /// The limits of the Identity Store; in the `aws` profile also one value per multi-valued
    /// attribute and a primary email, in the `rfc` profile one primary value at most
    /// (RFC 7643 §2.4).
    fn check(&self, profile: Profile) -> Result<()> {
        check_len("userName", &self.user_name, limits::USER_NAME)?;
        if limits::RESERVED_NAMES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&self.user_name))
        {
            return Err(ScimError::invalid(format!(
                "userName \"{}\" is reserved.",
                self.user_name
            )));
        }
        check_len("displayName", &self.display_name, limits::STRING)?;
        check_len("name.givenName", &self.name.given_name, limits::STRING)?;
        check_len("name.familyName", &self.name.family_name, limits::STRING)?;
        if let Some(id) = &self.external_id {
            check_len("externalId", id, limits::EXTERNAL_ID)?;
        }
        let optional = [
            ("name.formatted", &self.name.formatted),
            ("name.middleName", &self.name.middle_name),
            ("name.honorificPrefix", &self.name.honorific_prefix),
            ("name.honorificSuffix", &self.name.honorific_suffix),
            ("nickName", &self.nick_name),
            ("profileUrl", &self.profile_url),
            ("title", &self.title),
            ("userType", &self.user_type),
            ("preferredLanguage", &self.preferred_language),
            ("locale", &self.locale),
            ("timezone", &self.timezone),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                check_len(name, v, limits::STRING)?;
            }
        }
        let primaries = [
            (
                "emails",
                self.emails.iter().map(|e| e.primary).collect::<Vec<_>>(),
            ),
            (
                "addresses",
                self.addresses.iter().map(|a| a.primary).collect(),
            ),
            ("phoneNumbers", vec![None; self.phone_numbers.len()]),
            ("roles", self.roles.iter().map(|r| r.primary).collect()),
        ];
        for (name, primary) in &primaries {
            match profile {
                Profile::Aws => check_single(name, primary.len())?,
                Profile::Rfc => check_one_primary(name, primary)?,
            }
        }
        for role in &self.roles {
            check_len("roles.value", &role.value, limits::STRING)?;
            check_opt_len("roles.type", &role.kind)?;
        }
        for email in &self.emails {
            check_len("emails.value", &email.value, limits::STRING)?;
            check_opt_len("emails.type", &email.kind)?;
            if profile == Profile::Aws && email.primary != Some(true) {
                return Err(ScimError::invalid(
                    "The emails attribute value must be marked as primary.",
                ));
            }
        }
        for phone in &self.phone_numbers {
            check_len("phoneNumbers.value", &phone.value, limits::STRING)?;
            check_opt_len("phoneNumbers.type", &phone.kind)?;
        }
        for a in &self.addresses {
            for (name, value) in [
                ("addresses.formatted", &a.formatted),
                ("addresses.streetAddress", &a.street_address),
                ("addresses.locality", &a.locality),
                ("addresses.region", &a.region),
                ("addresses.postalCode", &a.postal_code),
                ("addresses.country", &a.country),
                ("addresses.type", &a.kind),
            ] {
                check_opt_len(name, value)?;
            }
        }
        if let Some(e) = &self.enterprise {
            for (name, value) in [
                ("employeeNumber", &e.employee_number),
                ("costCenter", &e.cost_center),
                ("organization", &e.organization),
                ("division", &e.division),
                ("department", &e.department),
            ] {
                check_opt_len(name, value)?;
            }
            if let Some(m) = &e.manager {
                check_len("manager.value", &m.value, limits::STRING)?;
            }
        }
        Ok(())
    }

    /// Drops an enterprise extension that holds nothing, so that it is not rendered, and
    /// makes a user without `active` active: the Identity Store knows no third state
    /// (`UserStatus` is `ENABLED` or `DISABLED`, and users it creates are enabled), so both
    /// APIs show the same status (inferred: AWS was never seen to answer a user created
    /// without `active`).
    fn normalize(mut self) -> Self {
        if self.enterprise.as_ref().is_some_and(Enterprise::is_empty) {
            self.enterprise = None;
        }
        self.active.get_or_insert(true);
        self
    }
}

/// Applies a PATCH to a user, returning the patched attributes: with AWS's PATCH rules in the
/// `aws` profile, with the RFC's (any operator in value filters, any writable attribute) in
/// the `rfc` profile.
pub fn patch_user(current: &UserAttrs, ops: &[PatchOp], profile: Profile) -> Result<UserAttrs> {
    if profile == Profile::Aws {
        check_user_patch(ops)?;
    }
    let mut json = current.to_json();
    super::patch::apply(&mut json, ops, &USER_RESOURCE)?;
    UserAttrs::from_json_as(json, profile)
}

/// The attributes AWS lets a PATCH change (PatchUser, "Constraints").
const PATCHABLE: [&str; 16] = [
    "userName",
    "active",
    "externalId",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "name",
    "emails",
    "addresses",
    "phoneNumbers",
    ENTERPRISE_URN,
];

/// AWS's rules on PatchUser operations that the generic engine does not know: only `eq` in
/// value filters, no `remove` of `userName` or `active`, one operation at most on each of them,
/// and only the patchable attributes.
fn check_user_patch(ops: &[PatchOp]) -> Result<()> {
    super::patch::check_only_eq(ops)?;
    let mut user_name_ops = 0;
    let mut active_ops = 0;
    for op in ops {
        let targets: Vec<String> = match (&op.path, &op.value) {
            (Some(path), _) => vec![match &path.attr.urn {
                Some(urn) if urn.eq_ignore_ascii_case(ENTERPRISE_URN) => ENTERPRISE_URN.into(),
                Some(urn)
                    if format!("{urn}:{}", path.attr.attr).eq_ignore_ascii_case(ENTERPRISE_URN) =>
                {
                    ENTERPRISE_URN.into()
                }
                _ => path.attr.attr.clone(),
            }],
            (None, Some(Value::Object(map))) => map
                .keys()
                .filter(|k| !is_common(k))
                .map(|k| top_level_name(k))
                .collect(),
            (None, _) => Vec::new(),
        };
        for target in targets {
            let allowed = PATCHABLE.iter().find(|p| p.eq_ignore_ascii_case(&target));
            let Some(&name) = allowed else {
                return Err(ScimError::mutability(format!(
                    "Attribute \"{target}\" cannot be modified."
                )));
            };
            match name {
                "userName" => user_name_ops += 1,
                "active" => active_ops += 1,
                _ => {}
            }
            if op.op == OpKind::Remove && (name == "userName" || name == "active") {
                return Err(ScimError::invalid(format!(
                    "The remove operation is not supported for \"{name}\"."
                )));
            }
        }
    }
    if user_name_ops > 1 || active_ops > 1 {
        return Err(ScimError::invalid(
            "Multiple operations on userName or active in one request are not supported.",
        ));
    }
    Ok(())
}

/// The top-level attribute a no-path PATCH key targets: `name.familyName` → `name`,
/// `urn:...:User:department` and the extension URN itself → the extension URN.
fn top_level_name(key: &str) -> String {
    if key.len() >= ENTERPRISE_URN.len()
        && key[..ENTERPRISE_URN.len()].eq_ignore_ascii_case(ENTERPRISE_URN)
    {
        return ENTERPRISE_URN.to_owned();
    }
    key.split('.').next().unwrap_or(key).to_owned()
}

/// A string of 1 to `max` characters, not only spaces, with AWS's detail otherwise.
fn check_len(name: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(ScimError::invalid(detail::required(name)));
    }
    if value.chars().count() > max {
        return Err(ScimError::invalid(detail::validation(
            name,
            &[Constraint::MaxLength(max)],
        )));
    }
    Ok(())
}

fn check_opt_len(name: &str, value: &Option<String>) -> Result<()> {
    match value {
        Some(v) => check_len(name, v, limits::STRING),
        None => Ok(()),
    }
}

fn check_single(name: &str, len: usize) -> Result<()> {
    if len > 1 {
        return Err(ScimError::invalid(detail::list_limit(name)));
    }
    Ok(())
}

fn check_one_primary(name: &str, primary: &[Option<bool>]) -> Result<()> {
    if primary.iter().filter(|p| **p == Some(true)).count() > 1 {
        return Err(ScimError::invalid(format!(
            "Attribute \"{name}\" has more than one primary value."
        )));
    }
    Ok(())
}

fn missing_member(e: &serde_json::Error) -> ScimError {
    let text = e.to_string();
    match text.split('`').nth(1) {
        Some(field) if text.starts_with("missing field") => {
            let name = match field {
                "givenName" | "familyName" => format!("name.{field}"),
                other => other.to_owned(),
            };
            ScimError::invalid(detail::required(&name))
        }
        _ => ScimError::unparsable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jane() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "displayName": "Jane Doe",
            "emails": [{"value": "jane@example.com", "type": "work", "primary": true}],
        })
    }

    fn with(mut body: Value, key: &str, value: Value) -> Value {
        body[key] = value;
        body
    }

    fn detail(body: Value) -> String {
        match UserAttrs::from_request(body) {
            Err(ScimError::Validation { detail, .. }) => detail,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_minimal_user_and_renders_it_back() {
        let attrs = UserAttrs::from_request(jane()).unwrap();
        assert_eq!(attrs.user_name, "jane@example.com");
        assert_eq!(attrs.email_key().as_deref(), Some("jane@example.com"));
        let json = Value::Object(attrs.to_json());
        assert_eq!(
            json["name"],
            json!({"familyName": "Doe", "givenName": "Jane"})
        );
        assert!(json.get("schemas").is_none());
    }

    #[test]
    fn attribute_names_are_case_insensitive() {
        let body = json!({"USERNAME": "a", "Name": {"GIVENNAME": "A", "familyname": "B"},
                          "displayname": "A B", "ACTIVE": true});
        let attrs = UserAttrs::from_request(body).unwrap();
        assert_eq!(attrs.name.given_name, "A");
        assert_eq!(attrs.active, Some(true));
    }

    #[test]
    fn required_attributes_are_named() {
        for (key, name) in [("userName", "userName"), ("displayName", "displayName")] {
            let mut body = jane();
            body.as_object_mut().unwrap().remove(key);
            assert!(detail(body).contains(name));
        }
        let body = with(jane(), "name", json!({"givenName": "Jane"}));
        assert_eq!(detail(body), detail::required("name.familyName"));
        let mut body = jane();
        body.as_object_mut().unwrap().remove("name");
        assert!(detail(body).contains("name"));
    }

    #[test]
    fn unsupported_and_read_only_attributes_are_rejected_by_name() {
        assert_eq!(
            detail(with(jane(), "password", json!("x"))),
            "Attribute \"password\" is not supported."
        );
        assert!(detail(with(jane(), "groups", json!([]))).contains("groups"));
        let emails = json!([{"value": "a@b.c", "primary": true, "display": "x"}]);
        assert!(detail(with(jane(), "emails", emails)).contains("emails.display"));
        let manager = json!({"manager": {"value": "m", "displayName": "Boss"}});
        assert!(detail(with(jane(), ENTERPRISE_URN, manager)).contains("manager.displayName"));
    }

    #[test]
    fn wrong_types_are_rejected_by_name() {
        assert!(detail(with(jane(), "active", json!("true"))).contains("active"));
        assert!(detail(with(jane(), "displayName", json!(5))).contains("displayName"));
        assert!(detail(with(jane(), "emails", json!({"value": "x"}))).contains("emails"));
        assert!(detail(with(jane(), "name", json!("Jane"))).contains("name"));
        assert_eq!(
            detail(json!(["not", "an", "object"])),
            super::super::detail::UNPARSABLE
        );
    }

    #[test]
    fn multi_valued_attributes_hold_one_value() {
        let two = json!([{"value": "a@x.y", "primary": true}, {"value": "b@x.y"}]);
        assert!(detail(with(jane(), "emails", two)).contains("emails"));
        let roles = json!([{"value": "a"}, {"value": "b"}]);
        assert!(detail(with(jane(), "roles", roles)).contains("roles"));
        let role = json!([{"value": "admin", "type": "work", "primary": true}]);
        let attrs = UserAttrs::from_request(with(jane(), "roles", role.clone())).unwrap();
        assert_eq!(Value::Object(attrs.to_json())["roles"], role);
        let phones = json!([{"value": "1"}, {"value": "2"}]);
        assert!(detail(with(jane(), "phoneNumbers", phones)).contains("phoneNumbers"));
        let not_primary = json!([{"value": "a@x.y", "type": "work"}]);
        assert!(detail(with(jane(), "emails", not_primary)).contains("primary"));
    }

    #[test]
    fn the_rfc_profile_takes_several_values_and_ignores_groups() {
        let emails =
            json!([{"value": "a@x.y", "type": "home"}, {"value": "b@x.y", "primary": true}]);
        let body = with(
            with(jane(), "emails", emails),
            "groups",
            json!([{"value": "g"}]),
        );
        let attrs = UserAttrs::from_request_as(body, Profile::Rfc).unwrap();
        assert_eq!(attrs.emails.len(), 2);
        assert_eq!(attrs.email_key().as_deref(), Some("b@x.y"));
        let two = json!([{"value": "a@x.y", "primary": true}, {"value": "b@x.y", "primary": true}]);
        let e = UserAttrs::from_request_as(with(jane(), "emails", two), Profile::Rfc);
        assert!(
            matches!(e, Err(ScimError::Validation { detail, .. }) if detail.contains("primary"))
        );
    }

    #[test]
    fn limits_are_enforced() {
        let long = "a".repeat(limits::USER_NAME + 1);
        assert!(detail(with(jane(), "userName", json!(long))).contains("128"));
        let ok = "é".repeat(limits::USER_NAME);
        assert!(UserAttrs::from_request(with(jane(), "userName", json!(ok))).is_ok());
        assert!(detail(with(jane(), "externalId", json!("x".repeat(257)))).contains("externalId"));
        assert!(detail(with(jane(), "title", json!("x".repeat(1025)))).contains("title"));
        assert!(detail(with(jane(), "displayName", json!(""))).contains("displayName"));
        assert!(detail(with(jane(), "userName", json!("Administrator"))).contains("reserved"));
        assert!(detail(with(jane(), "userName", json!("a\u{0}b"))).contains("userName"));
        let spaced = json!("Jane\u{a0}Doe O'Brien+tag");
        assert!(UserAttrs::from_request(with(jane(), "userName", spaced)).is_ok());
    }

    #[test]
    fn nulls_mean_absent_and_empty_extension_is_dropped_after_patch() {
        let body = with(jane(), "title", Value::Null);
        assert_eq!(UserAttrs::from_request(body).unwrap().title, None);
    }
}
