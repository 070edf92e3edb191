//! The schemas IAM Identity Center supports (AWS-SCIM.md "Users", "Groups", "Discovery"),
//! described after RFC 7643 §7: one static description that serves the `/Schemas` endpoint and
//! resolves attribute names (case-insensitively) for validation, evaluation and PATCH.

use serde_json::{Map, Value};

use super::error::{Result, ScimError};
use super::json;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A request message (a PatchOp, RFC 7644 §3.5.2, or a SearchRequest, §3.4.3): a JSON
/// object whose `schemas` lists the message's URN, in any case.
pub fn message(body: Value, urn: &str) -> Result<Map<String, Value>> {
    let Value::Object(body) = body else {
        return Err(ScimError::unparsable());
    };
    let lists_urn = json::get(&body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(urn)))
        });
    if !lists_urn {
        return Err(ScimError::invalid_syntax(format!(
            "The schemas attribute must list \"{urn}\"."
        )));
    }
    Ok(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Complex,
    Reference,
    DateTime,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Complex => "complex",
            Self::Reference => "reference",
            Self::DateTime => "dateTime",
        }
    }
}

/// One attribute of a schema (RFC 7643 §7).
#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: &'static str,
    pub uniqueness: &'static str,
    pub description: &'static str,
    pub sub_attributes: &'static [AttrDef],
    /// The resource types a `reference` may point to (RFC 7643 §7 `referenceTypes`).
    pub reference_types: &'static [&'static str],
}

impl AttrDef {
    /// The sub-attribute called `name`, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub_attributes, name)
    }
}

/// The attribute called `name` in `attributes`, case-insensitively.
fn find(attributes: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema: its URN, name and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

impl SchemaDef {
    /// The attribute called `name`, case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.attributes, name)
    }
}

/// A resource type: its core schema and its schema extensions.
#[derive(Debug)]
pub struct ResourceSchema {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: &'static SchemaDef,
    pub extensions: &'static [&'static SchemaDef],
}

impl ResourceSchema {
    /// Resolves `[urn:]attr` to its schema and definition. A URN must name the core schema or an
    /// extension, case-insensitively; without one, the core schema is searched.
    pub fn resolve(
        &self,
        urn: Option<&str>,
        attr: &str,
    ) -> Option<(&'static SchemaDef, &'static AttrDef)> {
        let schema = self.schema(urn)?;
        schema.attr(attr).map(|a| (schema, a))
    }

    /// The schema with this URN (or the core schema for `None`).
    pub fn schema(&self, urn: Option<&str>) -> Option<&'static SchemaDef> {
        match urn {
            None => Some(self.core),
            Some(urn) => std::iter::once(self.core)
                .chain(self.extensions.iter().copied())
                .find(|s| s.id.eq_ignore_ascii_case(urn)),
        }
    }

    /// The members that lead, in a resource's JSON form, to the object that holds the
    /// attributes of `schema` (a path for `json::object_at`): none for the core schema, whose
    /// attributes are at the top, the URN for an extension.
    pub fn holder(&self, schema: &'static SchemaDef) -> &'static [&'static str] {
        if schema.id == self.core.id {
            &[]
        } else {
            std::slice::from_ref(&schema.id)
        }
    }

    /// The extension whose URN is exactly a key such as
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, case-insensitively.
    pub fn extension(&self, key: &str) -> Option<&'static SchemaDef> {
        self.extensions
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(key))
    }
}

const fn attr(
    name: &'static str,
    ty: AttrType,
    description: &'static str,
    sub_attributes: &'static [AttrDef],
) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        uniqueness: "none",
        description,
        sub_attributes,
        reference_types: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::String, description, &[])
}

const fn required(mut a: AttrDef) -> AttrDef {
    a.required = true;
    a
}

const fn multi(mut a: AttrDef) -> AttrDef {
    a.multi_valued = true;
    a
}

const fn unique(mut a: AttrDef) -> AttrDef {
    a.uniqueness = "server";
    a
}

const fn case_exact(mut a: AttrDef) -> AttrDef {
    a.case_exact = true;
    a
}

const fn read_only(mut a: AttrDef) -> AttrDef {
    a.mutability = "readOnly";
    a
}

const fn immutable(mut a: AttrDef) -> AttrDef {
    a.mutability = "immutable";
    a
}

const fn reference(
    name: &'static str,
    description: &'static str,
    reference_types: &'static [&'static str],
) -> AttrDef {
    let mut a = attr(name, AttrType::Reference, description, &[]);
    a.reference_types = reference_types;
    a
}

const TYPE: AttrDef = string("type", "A label indicating the attribute's function.");
const PRIMARY: AttrDef = attr(
    "primary",
    AttrType::Boolean,
    "Whether this is the primary value.",
    &[],
);

pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attributes: &[
        required(unique(string(
            "userName",
            "Unique identifier for the User, case-insensitive.",
        ))),
        case_exact(string(
            "externalId",
            "An identifier for the User as defined by the provisioning client.",
        )),
        required(attr(
            "name",
            AttrType::Complex,
            "The components of the user's real name.",
            &[
                string("formatted", "The full name."),
                required(string("familyName", "The family name.")),
                required(string("givenName", "The given name.")),
                string("middleName", "The middle name."),
                string("honorificPrefix", "The honorific prefix."),
                string("honorificSuffix", "The honorific suffix."),
            ],
        )),
        required(string("displayName", "The name of the User, for display.")),
        string("nickName", "The casual way to address the user."),
        reference(
            "profileUrl",
            "A fully qualified URL pointing to a page representing the User's online profile.",
            &["external"],
        ),
        string("title", "The user's title."),
        string(
            "userType",
            "The relationship between the organization and the user.",
        ),
        string(
            "preferredLanguage",
            "The User's preferred written or spoken language.",
        ),
        string("locale", "The User's default location."),
        string("timezone", "The User's time zone, in IANA format."),
        attr(
            "active",
            AttrType::Boolean,
            "The User's administrative status.",
            &[],
        ),
        multi(attr(
            "emails",
            AttrType::Complex,
            "Email address of the User; IAM Identity Center keeps one, marked primary.",
            &[string("value", "The email address."), TYPE, PRIMARY],
        )),
        multi(attr(
            "phoneNumbers",
            AttrType::Complex,
            "Phone number of the User; IAM Identity Center keeps one.",
            &[string("value", "The phone number."), TYPE],
        )),
        multi(attr(
            "roles",
            AttrType::Complex,
            "A role of the User; IAM Identity Center keeps one.",
            &[string("value", "The role."), TYPE, PRIMARY],
        )),
        multi(attr(
            "addresses",
            AttrType::Complex,
            "A physical mailing address for this User; IAM Identity Center keeps one.",
            &[
                string("formatted", "The full mailing address."),
                string("streetAddress", "The street address."),
                string("locality", "The city or locality."),
                string("region", "The state or region."),
                string("postalCode", "The zip code or postal code."),
                string("country", "The country name."),
                TYPE,
                PRIMARY,
            ],
        )),
        read_only(multi(attr(
            "groups",
            AttrType::Complex,
            "The groups the user belongs to, directly or through a nested group; read-only.",
            &[
                read_only(string("value", "The id of the group.")),
                read_only(reference("$ref", "The URI of the group.", &["Group"])),
                read_only(string("display", "The displayName of the group.")),
                read_only(string(
                    "type",
                    "How the user belongs to the group: direct or indirect.",
                )),
            ],
        ))),
    ],
};

pub static ENTERPRISE_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person.",
        ),
        string("costCenter", "Identifies the name of a cost center."),
        string("organization", "Identifies the name of an organization."),
        string("division", "Identifies the name of a division."),
        string("department", "Identifies the name of a department."),
        attr(
            "manager",
            AttrType::Complex,
            "The User's manager.",
            &[string(
                "value",
                "The id of the SCIM resource representing the manager.",
            )],
        ),
    ],
};

pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attributes: &[
        required(unique(string(
            "displayName",
            "A human-readable name for the Group.",
        ))),
        case_exact(string(
            "externalId",
            "An identifier for the Group as defined by the provisioning client.",
        )),
        multi(attr(
            "members",
            AttrType::Complex,
            "A list of members of the Group; never returned by IAM Identity Center.",
            &[
                immutable(string("value", "The id of a member.")),
                immutable(reference(
                    "$ref",
                    "The URI of the member.",
                    &["User", "Group"],
                )),
                read_only(string("display", "The name of the member.")),
                immutable(string("type", "The type of the member: User or Group.")),
            ],
        )),
    ],
};

/// The common attributes of every resource (RFC 7643 §3.1), which no schema lists: what the
/// `rfc` profile filters, sorts and selects besides the schema attributes.
pub static COMMON_ATTRIBUTES: [AttrDef; 3] = [
    read_only(case_exact(string("id", "The identifier of the resource."))),
    read_only(case_exact(multi(attr(
        "schemas",
        AttrType::Reference,
        "The schemas of the resource.",
        &[],
    )))),
    read_only(attr(
        "meta",
        AttrType::Complex,
        "Resource metadata.",
        &[
            case_exact(string("resourceType", "The name of the resource type.")),
            attr(
                "created",
                AttrType::DateTime,
                "When the resource was added.",
                &[],
            ),
            attr(
                "lastModified",
                AttrType::DateTime,
                "When the resource was last changed.",
                &[],
            ),
            case_exact(attr(
                "location",
                AttrType::Reference,
                "The URI of the resource.",
                &[],
            )),
            case_exact(string("version", "The version (ETag) of the resource.")),
        ],
    )),
];

/// The common attribute called `name`, case-insensitively.
pub fn common_attribute(name: &str) -> Option<&'static AttrDef> {
    find(&COMMON_ATTRIBUTES, name)
}

/// Whether a member of a resource is one of the common attributes, which the server sets.
pub fn is_common(name: &str) -> bool {
    common_attribute(name).is_some()
}

pub static USER_RESOURCE: ResourceSchema = ResourceSchema {
    name: "User",
    endpoint: "/Users",
    core: &USER_SCHEMA,
    extensions: &[&ENTERPRISE_SCHEMA],
};

pub static GROUP_RESOURCE: ResourceSchema = ResourceSchema {
    name: "Group",
    endpoint: "/Groups",
    core: &GROUP_SCHEMA,
    extensions: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_case_insensitively_and_through_urns() {
        let (s, a) = USER_RESOURCE.resolve(None, "USERNAME").unwrap();
        assert_eq!((s.id, a.name), (USER_URN, "userName"));
        let (s, a) = USER_RESOURCE
            .resolve(Some(&ENTERPRISE_URN.to_uppercase()), "department")
            .unwrap();
        assert_eq!((s.id, a.name), (ENTERPRISE_URN, "department"));
        assert!(USER_RESOURCE.resolve(None, "department").is_none());
        assert!(
            USER_RESOURCE
                .resolve(Some("urn:nope"), "userName")
                .is_none()
        );
        assert_eq!(
            USER_RESOURCE
                .resolve(None, "emails")
                .unwrap()
                .1
                .sub("VALUE")
                .unwrap()
                .name,
            "value"
        );
    }
}
