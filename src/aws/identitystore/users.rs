//! DescribeUser, ListUsers, GetUserId, CreateUser, UpdateUser and DeleteUser, and the one
//! mapping between the API's `User` and the SCIM user the store keeps.
//!
//! Writes are turned into the SCIM representation and validated by `UserAttrs::from_json`, so
//! a user written here obeys the same rules as one written over SCIM. The API's PascalCase
//! members map to SCIM's camelCase attributes; `ExternalIds` shows the SCIM `externalId` under
//! `SCIM_ISSUER`; `UserStatus` is SCIM's `active`; the `aws:identitystore:enterprise` extension
//! is SCIM's enterprise extension, with its SCIM member names (inferred).

use serde_json::{Map, Value, json};

use super::error::{ApiError, ResourceType, Result};
use super::shapes::{
    self, AlternateIdentifier, CreateUserRequest, DeleteUserRequest, DescribeUserRequest,
    GetIdRequest, ListUsersRequest, TypedValue, UpdateUserRequest,
};
use super::{
    Ctx, epoch_seconds, external_ids, filter_on, find_one, list_page, next_token, reply,
    resource_arn, scim_external_id,
};
use crate::scim::query::UserQuery;
use crate::scim::schema::ENTERPRISE_URN;
use crate::scim::user::UserAttrs;
use crate::store::{StoreError, Tenant, UserRecord};

/// The one extension the API knows; it holds SCIM's enterprise attributes.
pub const ENTERPRISE_EXTENSION: &str = "aws:identitystore:enterprise";

/// Top-level attributes an `AttributePath` may name, in SCIM spelling.
const ATTRIBUTES: [&str; 14] = [
    "userName",
    "displayName",
    "nickName",
    "profileUrl",
    "userType",
    "title",
    "preferredLanguage",
    "locale",
    "timezone",
    "name",
    "emails",
    "addresses",
    "phoneNumbers",
    "roles",
];
const NAME_PARTS: [&str; 6] = [
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
];
const ENTERPRISE_PARTS: [&str; 6] = [
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];

fn not_found(id: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| ApiError::from_store(e, ResourceType::User, Some(id))
}

pub(super) async fn describe(ctx: &Ctx<'_>, req: DescribeUserRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("userId", &req.user_id)?;
    let enterprise = wants_enterprise(req.extensions.as_deref())?;
    let record = ctx
        .store()
        .get_user(&tenant, id)
        .await
        .map_err(not_found(id))?;
    reply(user_shape(&tenant, &record, enterprise))
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListUsersRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let enterprise = wants_enterprise(req.extensions.as_deref())?;
    let limit = shapes::max_results(req.max_results)?;
    let after = next_token::decode(req.next_token.as_deref())?;
    let query = filter_on(req.filters.as_deref(), "UserName", "ListUsers")?
        .map_or(UserQuery::All, UserQuery::UserName);
    let (users, next) =
        list_page::<UserRecord>(ctx, &tenant, &query, limit, after, ResourceType::User).await?;
    reply(shapes::ListUsersResponse {
        users: users
            .iter()
            .map(|r| user_shape(&tenant, r, enterprise))
            .collect(),
        next_token: next,
    })
}

pub(super) async fn get_id(ctx: &Ctx<'_>, req: GetIdRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let query = match req.alternate_identifier {
        AlternateIdentifier::ExternalId(ext) => {
            UserQuery::ExternalId(scim_external_id(ext, ResourceType::User)?)
        }
        AlternateIdentifier::UniqueAttribute(attr) => {
            let value = super::unique_value(&attr)?;
            match attr.attribute_path.to_ascii_lowercase().as_str() {
                "username" => UserQuery::UserName(value),
                "emails.value" => UserQuery::Email(value),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "AttributePath {} is not a unique attribute of users; use userName or emails.value.",
                        attr.attribute_path
                    )));
                }
            }
        }
    };
    let user: UserRecord = find_one(ctx, &tenant, &query, ResourceType::User).await?;
    reply(json!({
        "IdentityStoreId": tenant.identity_store_id,
        "UserId": user.id,
        "UserArn": resource_arn("user", &user.id),
    }))
}

pub(super) async fn create(ctx: &Ctx<'_>, req: CreateUserRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    for (member, value) in [
        ("Photos", &req.photos),
        ("Website", &req.website),
        ("Birthdate", &req.birthdate),
    ] {
        if value.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(unsupported(member));
        }
    }
    let strings = [
        ("userName", req.user_name),
        ("displayName", req.display_name),
        ("nickName", req.nick_name),
        ("profileUrl", req.profile_url),
        ("userType", req.user_type),
        ("title", req.title),
        ("preferredLanguage", req.preferred_language),
        ("locale", req.locale),
        ("timezone", req.timezone),
    ];
    let to_json = |v: Value| Some(v).filter(|v| !v.is_null());
    let multi = [
        ("name", req.name.and_then(|n| to_json(json!(n)))),
        ("emails", req.emails.and_then(|v| to_json(json!(v)))),
        ("addresses", req.addresses.and_then(|v| to_json(json!(v)))),
        (
            "phoneNumbers",
            req.phone_numbers.and_then(|v| to_json(json!(v))),
        ),
        ("roles", req.roles.and_then(|v| to_json(json!(v)))),
    ];
    let mut ops: Vec<(UserPath, Option<Value>)> = strings
        .into_iter()
        .map(|(attr, v)| (attr, v.map(Value::String)))
        .chain(multi)
        .map(|(attr, v)| (UserPath::Attribute(attr), v))
        .collect();
    for (name, value) in req.extensions.unwrap_or_default() {
        if name != ENTERPRISE_EXTENSION {
            return Err(unknown_extension(&name));
        }
        ops.push((UserPath::Enterprise(None), Some(value)));
    }
    // A user created through the API is enabled, as in AWS.
    let mut json = Map::from_iter([("active".to_owned(), Value::Bool(true))]);
    for (path, value) in ops {
        apply(&mut json, path, value);
    }
    let attrs = UserAttrs::from_json(json)?;
    check_user_name(&attrs.user_name)?;
    let record = ctx
        .store()
        .create_user(&tenant, &attrs, ctx.now_ms())
        .await
        .map_err(|e| ApiError::from_store(e, ResourceType::User, None))?;
    reply(user_ref(&tenant, &record))
}

pub(super) async fn update(ctx: &Ctx<'_>, req: UpdateUserRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("userId", &req.user_id)?;
    shapes::operations(&req.operations)?;
    let expected = shapes::revision(req.revision.as_deref())?;
    let ops = req
        .operations
        .iter()
        .map(|op| Ok((user_path(&op.attribute_path)?, op.attribute_value.clone())))
        .collect::<Result<Vec<_>>>()?;
    let record = ctx
        .store()
        .update_user(&tenant, id, ctx.now_ms(), |current| {
            if expected.is_some_and(|rev| rev != current.version) {
                return Err(ApiError::concurrent_modification());
            }
            let mut json = current.attrs.to_json();
            for (path, value) in &ops {
                apply(&mut json, *path, value.clone());
            }
            let attrs = UserAttrs::from_json(json)?;
            if attrs.user_name != current.attrs.user_name {
                check_user_name(&attrs.user_name)?;
            }
            Ok(attrs)
        })
        .await
        .map_err(not_found(id))??;
    reply(user_ref(&tenant, &record))
}

pub(super) async fn delete(ctx: &Ctx<'_>, req: DeleteUserRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("userId", &req.user_id)?;
    let revision = req.revision.as_deref();
    super::delete::<UserRecord>(ctx, &tenant, id, revision, ResourceType::User).await
}

/// `CreateUserResponse` and `UpdateUserResponse`.
fn user_ref(tenant: &Tenant, record: &UserRecord) -> Value {
    json!({
        "IdentityStoreId": tenant.identity_store_id,
        "UserId": record.id,
        "UserArn": resource_arn("user", &record.id),
        "Revision": record.version.to_string(),
    })
}

/// The API's `User` for a stored user.
fn user_shape(tenant: &Tenant, record: &UserRecord, with_enterprise: bool) -> shapes::User {
    let a = &record.attrs;
    let typed = |value: &str, kind: &Option<String>, primary: Option<bool>| TypedValue {
        value: Some(value.to_owned()),
        kind: kind.clone(),
        primary,
    };
    shapes::User {
        identity_store_id: tenant.identity_store_id.clone(),
        user_id: record.id.clone(),
        user_arn: resource_arn("user", &record.id),
        revision: record.version.to_string(),
        user_name: a.user_name.clone(),
        external_ids: external_ids(a.external_id.as_deref()),
        name: shapes::Name {
            formatted: a.name.formatted.clone(),
            family_name: Some(a.name.family_name.clone()),
            given_name: Some(a.name.given_name.clone()),
            middle_name: a.name.middle_name.clone(),
            honorific_prefix: a.name.honorific_prefix.clone(),
            honorific_suffix: a.name.honorific_suffix.clone(),
        },
        display_name: a.display_name.clone(),
        nick_name: a.nick_name.clone(),
        profile_url: a.profile_url.clone(),
        emails: a
            .emails
            .iter()
            .map(|e| typed(&e.value, &e.kind, e.primary))
            .collect(),
        addresses: a
            .addresses
            .iter()
            .map(|x| shapes::Address {
                street_address: x.street_address.clone(),
                locality: x.locality.clone(),
                region: x.region.clone(),
                postal_code: x.postal_code.clone(),
                country: x.country.clone(),
                formatted: x.formatted.clone(),
                kind: x.kind.clone(),
                primary: x.primary,
            })
            .collect(),
        phone_numbers: a
            .phone_numbers
            .iter()
            .map(|p| typed(&p.value, &p.kind, None))
            .collect(),
        user_type: a.user_type.clone(),
        title: a.title.clone(),
        preferred_language: a.preferred_language.clone(),
        locale: a.locale.clone(),
        timezone: a.timezone.clone(),
        user_status: if a.active == Some(false) {
            "DISABLED"
        } else {
            "ENABLED"
        },
        roles: a
            .roles
            .iter()
            .map(|r| typed(&r.value, &r.kind, r.primary))
            .collect(),
        created_at: epoch_seconds(record.created_ms),
        updated_at: epoch_seconds(record.modified_ms),
        extensions: a
            .enterprise
            .as_ref()
            .filter(|_| with_enterprise)
            .and_then(|e| serde_json::to_value(e).ok())
            .map(|e| Map::from_iter([(ENTERPRISE_EXTENSION.to_owned(), e)])),
    }
}

/// Whether `Extensions` asks for the enterprise extension (the only one there is).
fn wants_enterprise(extensions: Option<&[String]>) -> Result<bool> {
    let names = extensions.unwrap_or_default();
    if names.len() > 10 {
        return Err(ApiError::constraint(
            "extensions",
            "Member must have length less than or equal to 10",
        ));
    }
    for name in names {
        if name != ENTERPRISE_EXTENSION {
            return Err(unknown_extension(name));
        }
    }
    Ok(!names.is_empty())
}

fn unknown_extension(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Extension {name} is not supported; {ENTERPRISE_EXTENSION} is the only extension."
    ))
}

fn unsupported(member: &str) -> ApiError {
    ApiError::invalid(format!(
        "{member} is not supported by this identity store (idc-scim keeps the attributes of AWS's SCIM endpoint)."
    ))
}

/// The API's `UserName` pattern `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`: no spaces or controls.
fn check_user_name(user_name: &str) -> Result<()> {
    if user_name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ApiError::constraint(
            "userName",
            "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
        ));
    }
    Ok(())
}

/// What an `AttributePath` of UpdateUser names, in SCIM spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserPath {
    Attribute(&'static str),
    NamePart(&'static str),
    /// The enterprise extension, or one of its attributes.
    Enterprise(Option<&'static str>),
}

fn find(names: &[&'static str], wanted: &str) -> Option<&'static str> {
    names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(wanted))
}

/// Resolves an `AttributePath` (`displayName`, `name.givenName`, `emails`,
/// `aws:identitystore:enterprise.department`, ...), case-insensitively.
fn user_path(path: &str) -> Result<UserPath> {
    let resolved = if let Some(rest) = path.strip_prefix(ENTERPRISE_EXTENSION) {
        match rest.strip_prefix('.') {
            None if rest.is_empty() => Some(UserPath::Enterprise(None)),
            Some(part) => find(&ENTERPRISE_PARTS, part).map(|p| UserPath::Enterprise(Some(p))),
            None => None,
        }
    } else {
        match path.split_once('.') {
            Some((top, part)) if top.eq_ignore_ascii_case("name") => {
                find(&NAME_PARTS, part).map(UserPath::NamePart)
            }
            Some(_) => None,
            None => find(&ATTRIBUTES, path).map(UserPath::Attribute),
        }
    };
    resolved.ok_or_else(|| {
        let known = [
            "photos",
            "website",
            "birthdate",
            "externalIds",
            "userStatus",
        ];
        match known.iter().find(|k| k.eq_ignore_ascii_case(path)) {
            Some(k) => unsupported(k),
            None if path.is_empty() || path.len() > 255 => {
                ApiError::constraint("attributePath", "Member must have length between 1 and 255")
            }
            None => ApiError::invalid(format!("AttributePath {path} cannot be updated.")),
        }
    })
}

/// Sets (or, with `None`, removes) an attribute of a user's SCIM representation.
fn apply(json: &mut Map<String, Value>, path: UserPath, value: Option<Value>) {
    let (target, key, value) = match path {
        UserPath::Attribute(attr) => (json, attr, value.map(|v| scim_value(attr, v))),
        UserPath::NamePart(part) => (object_at(json, "name"), part, value),
        UserPath::Enterprise(None) => (json, ENTERPRISE_URN, value.map(camel_keys)),
        UserPath::Enterprise(Some(part)) => {
            let value = value.map(|v| match (part, v) {
                ("manager", Value::String(id)) => json!({ "value": id }),
                (_, v) => camel_keys(v),
            });
            (object_at(json, ENTERPRISE_URN), part, value)
        }
    };
    match value.filter(|v| !v.is_null()) {
        Some(v) => {
            target.insert(key.to_owned(), v);
        }
        None => {
            target.remove(key);
        }
    }
}

/// The object at `key`, made one if it is absent or not an object.
fn object_at<'a>(json: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = json
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

/// An API value in SCIM form: member names in camelCase; an email is primary unless it says
/// otherwise (SCIM requires the one email to be primary, the API does not mark it); SCIM's
/// phone numbers have no `primary`.
fn scim_value(attr: &str, value: Value) -> Value {
    let mut value = camel_keys(value);
    if let Value::Array(items) = &mut value {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            match attr {
                "emails" => {
                    item.entry("primary").or_insert(Value::Bool(true));
                }
                "phoneNumbers" => {
                    item.remove("primary");
                }
                _ => {}
            }
        }
    }
    value
}

/// `FamilyName` → `familyName`, recursively.
fn camel_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (crate::aws::protocol::lower_camel(&k), camel_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_paths_resolve_case_insensitively() {
        assert_eq!(
            user_path("displayName"),
            Ok(UserPath::Attribute("displayName"))
        );
        assert_eq!(
            user_path("Name.GivenName"),
            Ok(UserPath::NamePart("givenName"))
        );
        assert_eq!(
            user_path("aws:identitystore:enterprise.costCenter"),
            Ok(UserPath::Enterprise(Some("costCenter")))
        );
        assert!(user_path("photos").is_err());
        assert!(user_path("name.nickName").is_err());
        assert!(user_path("active").is_err());
    }

    #[test]
    fn api_values_become_scim_values() {
        let mut json = Map::new();
        apply(
            &mut json,
            UserPath::Attribute("emails"),
            Some(json!([{"Value": "a@x.y", "Type": "work"}])),
        );
        apply(
            &mut json,
            UserPath::Attribute("phoneNumbers"),
            Some(json!([{"Value": "1", "Primary": true}])),
        );
        apply(&mut json, UserPath::NamePart("givenName"), Some(json!("A")));
        apply(
            &mut json,
            UserPath::Enterprise(Some("manager")),
            Some(json!("m-1")),
        );
        assert_eq!(
            Value::Object(json.clone()),
            json!({
                "emails": [{"value": "a@x.y", "type": "work", "primary": true}],
                "phoneNumbers": [{"value": "1"}],
                "name": {"givenName": "A"},
                ENTERPRISE_URN: {"manager": {"value": "m-1"}},
            })
        );
        apply(&mut json, UserPath::Attribute("emails"), None);
        apply(
            &mut json,
            UserPath::NamePart("givenName"),
            Some(Value::Null),
        );
        assert!(!json.contains_key("emails"));
        assert_eq!(json["name"], json!({}));
    }
}
