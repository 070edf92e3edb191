//! Discovery (AWS-SCIM.md, "Discovery"): ServiceProviderConfig, ResourceTypes and Schemas,
//! rendered from the static schemas of `scim::schema`. The `rfc` profile's
//! ServiceProviderConfig advertises sorting and ETags (RFC 7643 §5).

use axum::Json;
use axum::extract::{Extension, State};
use serde_json::{Value, json};

use super::{ListResponse, ResourceId};
use crate::scim::ScimError;
use crate::scim::query::MAX_COUNT;
use crate::scim::schema::{
    AttrDef, ENTERPRISE_SCHEMA, GROUP_RESOURCE, GROUP_SCHEMA, ResourceSchema, SchemaDef,
    USER_RESOURCE, USER_SCHEMA,
};
use crate::state::Authenticated;
use crate::state::SharedState;

const DOCS: &str =
    "https://docs.aws.amazon.com/singlesignon/latest/developerguide/what-is-scim.html";
const SCHEMAS: [&SchemaDef; 3] = [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA];
const RESOURCES: [&ResourceSchema; 2] = [&USER_RESOURCE, &GROUP_RESOURCE];

pub async fn service_provider_config(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
) -> Json<Value> {
    let rfc = state.profile.is_rfc();
    Json(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": DOCS,
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "documentationUri": DOCS,
            "primary": true,
        }],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 1, "maxPayloadSize": 1048576},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": rfc},
        "etag": {"supported": rfc},
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", auth.base_url),
        },
    }))
}

fn attribute(a: &AttrDef) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": a.mutability,
        "returned": "default",
        "uniqueness": a.uniqueness,
    });
    if !a.sub_attributes.is_empty() {
        v["subAttributes"] = a.sub_attributes.iter().map(attribute).collect();
    }
    if !a.reference_types.is_empty() {
        v["referenceTypes"] = json!(a.reference_types);
    }
    v
}

fn schema_json(s: &SchemaDef, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", s.id)},
    })
}

fn resource_type_json(r: &ResourceSchema, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": r.name,
        "name": r.name,
        "endpoint": r.endpoint,
        "description": r.core.description,
        "schema": r.core.id,
        "schemaExtensions": r.extensions.iter()
            .map(|e| json!({"schema": e.id, "required": false}))
            .collect::<Vec<_>>(),
        "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", r.name)},
    })
}

fn with_total(resources: Vec<Value>) -> Json<ListResponse<Value>> {
    let mut list = ListResponse::new(resources);
    list.total_results = Some(list.items_per_page as i64);
    list.start_index = Some(1);
    Json(list)
}

pub async fn schemas(Extension(auth): Extension<Authenticated>) -> Json<ListResponse<Value>> {
    with_total(
        SCHEMAS
            .iter()
            .map(|s| schema_json(s, &auth.base_url))
            .collect(),
    )
}

pub async fn schema(
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
) -> Result<Json<Value>, ScimError> {
    SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| Json(schema_json(s, &auth.base_url)))
        .ok_or_else(|| ScimError::NotFound("Schema not found.".to_owned()))
}

pub async fn resource_types(
    Extension(auth): Extension<Authenticated>,
) -> Json<ListResponse<Value>> {
    with_total(
        RESOURCES
            .iter()
            .map(|r| resource_type_json(r, &auth.base_url))
            .collect(),
    )
}

pub async fn resource_type(
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
) -> Result<Json<Value>, ScimError> {
    RESOURCES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(&id))
        .map(|r| Json(resource_type_json(r, &auth.base_url)))
        .ok_or_else(|| ScimError::NotFound("Resource type not found.".to_owned()))
}
