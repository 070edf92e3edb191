//! AWS Signature Version 4 (the `Authorization: AWS4-HMAC-SHA256 ...` header) for the AWS
//! JSON APIs: its form (`Presented::parse`), its scope and time (`check_scope`), the signature
//! itself (`verify`), and `sign`, which tests and clients use to build a signed request.
//!
//! The checks come in the order a server can make them cheaply: the form, then (once the
//! caller has looked up the access key) the scope's service, region and day and the 15 minutes
//! around the server's clock, and only then, after the body was read, the signature over the
//! canonical request, compared in constant time. The errors are those AWS JSON services answer:
//! `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
//! `UnrecognizedClientException`, `InvalidSignatureException`.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::ProtocolError;
use crate::text::hex;

type Result<T, E = ProtocolError> = std::result::Result<T, E>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `X-Amz-Date` may be from the server's clock when signatures are verified.
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/identitystore/aws4_request,
    /// SignedHeaders=host;x-amz-date, Signature=<hex>`.
    pub fn parse(value: &'a str) -> Result<Self> {
        let incomplete = |m: &str| ProtocolError::IncompleteSignature(m.to_owned());
        let rest = value
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| {
                incomplete(&format!(
                    "Authorization header requires the {ALGORITHM} algorithm."
                ))
            })?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (key, val) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
            match key {
                "Credential" => credential = Some(val),
                "SignedHeaders" => signed = Some(val),
                "Signature" => signature = Some(val),
                _ => {}
            }
        }
        let credential = credential
            .ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter."))?;
        let signed = signed.ok_or_else(|| {
            incomplete("Authorization header requires 'SignedHeaders' parameter.")
        })?;
        let signature = signature
            .ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
            return Err(incomplete(
                "Credential should be scoped to a valid region, service and aws4_request.",
            ));
        };
        if access_key_id.is_empty()
            || date.len() != 8
            || !date.bytes().all(|b| b.is_ascii_digit())
            || region.is_empty()
            || service.is_empty()
        {
            return Err(incomplete(
                "Authorization header has a malformed Credential.",
            ));
        }
        if signature.is_empty() || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(incomplete(
                "Authorization header has a malformed Signature.",
            ));
        }
        let signed_headers: Vec<&str> = signed.split(';').filter(|h| !h.is_empty()).collect();
        if signed_headers.is_empty() {
            return Err(incomplete("Authorization header has no SignedHeaders."));
        }
        Ok(Self {
            access_key_id,
            date,
            region,
            service,
            signed_headers,
            signature,
        })
    }
}

/// What a request is signed over.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (`/`).
    pub path: &'a str,
    /// The raw query string, without `?` (usually empty).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request's signature as presented: its `Authorization` header and `X-Amz-Date`, of the
/// right form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented<'a> {
    pub authorization: Authorization<'a>,
    amz_date: &'a str,
    signed_at_ms: i64,
}

impl<'a> Presented<'a> {
    /// Reads the signature of a request from its headers, checking its form only: all a
    /// request needs with `--aws-auth any`.
    pub fn parse(headers: &'a HeaderMap) -> Result<Self> {
        let Some(value) = headers.get("authorization") else {
            return Err(ProtocolError::MissingAuthenticationToken);
        };
        let value = value.to_str().map_err(|_| {
            ProtocolError::IncompleteSignature("Authorization header is not ASCII.".into())
        })?;
        let authorization = Authorization::parse(value)?;
        let amz_date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ProtocolError::IncompleteSignature(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                        .into(),
                )
            })?;
        let signed_at =
            chrono::NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT).map_err(|_| {
                ProtocolError::IncompleteSignature(format!("Invalid X-Amz-Date: {amz_date}"))
            })?;
        Ok(Self {
            authorization,
            amz_date,
            signed_at_ms: signed_at.and_utc().timestamp_millis(),
        })
    }

    pub fn access_key_id(&self) -> &'a str {
        self.authorization.access_key_id
    }

    /// What can be checked before the body is read: the scope names `service` (its signing
    /// name), `region` and the day of `X-Amz-Date`, which lies within 15 minutes of `now_ms`.
    pub fn check_scope(&self, service: &str, region: &str, now_ms: i64) -> Result<()> {
        let auth = &self.authorization;
        if auth.service != service {
            return Err(ProtocolError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
        if auth.region != region {
            return Err(ProtocolError::InvalidSignature(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                auth.region
            )));
        }
        if !self.amz_date.starts_with(auth.date) {
            return Err(ProtocolError::InvalidSignature(
                "Credential should be scoped to the date of X-Amz-Date.".into(),
            ));
        }
        if (self.signed_at_ms - now_ms).abs() > MAX_SKEW_MS {
            let now = chrono::DateTime::from_timestamp_millis(now_ms)
                .unwrap_or_default()
                .format(AMZ_DATE_FORMAT);
            return Err(ProtocolError::InvalidSignature(format!(
                "Signature expired: {} is outside the 15 minute window around {now}.",
                self.amz_date
            )));
        }
        Ok(())
    }

    /// Checks the signature over the whole request, its body included, made with the key's
    /// secret, compared in constant time.
    pub fn verify(&self, req: SignedRequest<'_>, secret: &str) -> Result<()> {
        let auth = &self.authorization;
        let scope = Scope {
            region: auth.region,
            service: auth.service,
        };
        let expected = signature(req, &auth.signed_headers, self.amz_date, scope, secret)
            .ok_or_else(signature_mismatch)?;
        if crate::secret::eq(auth.signature.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(signature_mismatch())
        }
    }
}

fn signature_mismatch() -> ProtocolError {
    ProtocolError::InvalidSignature(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            .into(),
    )
}

/// The region and service a signature is scoped to.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    /// The signing name of the service.
    pub service: &'a str,
}

/// Signs a request: returns the value of its `Authorization` header. Every header in
/// `req.headers` is signed; it must hold `host` and `x-amz-date` (`amz_date`, e.g.
/// `20260101T000000Z`).
pub fn sign(
    req: SignedRequest<'_>,
    amz_date: &str,
    scope: Scope<'_>,
    access_key_id: &str,
    secret: &str,
) -> String {
    let mut names: Vec<String> = req
        .headers
        .keys()
        .map(|k| k.as_str().to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let signature = signature(req, &names, amz_date, scope, secret).unwrap_or_default();
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let Scope { region, service } = scope;
    format!(
        "{ALGORITHM} Credential={access_key_id}/{date}/{region}/{service}/aws4_request, \
         SignedHeaders={}, Signature={signature}",
        names.join(";")
    )
}

/// The hex signature of a request over `signed_headers`; `None` if a signed header is absent.
fn signature(
    req: SignedRequest<'_>,
    signed_headers: &[&str],
    amz_date: &str,
    scope: Scope<'_>,
    secret: &str,
) -> Option<String> {
    let Scope { region, service } = scope;
    let date = amz_date.get(..8)?;
    let mut canonical = String::new();
    canonical.push_str(req.method);
    canonical.push('\n');
    canonical.push_str(&canonical_uri(req.path));
    canonical.push('\n');
    canonical.push_str(&canonical_query(req.query));
    canonical.push('\n');
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .get_all(*name)
            .iter()
            .map(|v| collapse_whitespace(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        if values.is_empty() {
            return None;
        }
        canonical.push_str(&name.to_ascii_lowercase());
        canonical.push(':');
        canonical.push_str(&values.join(","));
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers.join(";"));
    canonical.push('\n');
    canonical.push_str(&hex(&Sha256::digest(req.body)));
    let credential_scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    Some(hex(&hmac(&key, string_to_sign.as_bytes())))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn collapse_whitespace(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Everything but RFC 3986's unreserved characters is encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn uri_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Each path segment encoded once more, as SigV4 does for every service but S3.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "identitystore";
    const SCOPE: Scope<'static> = Scope {
        region: "us-east-1",
        service: SERVICE,
    };

    /// The headers of the `get-vanilla` case of AWS's SigV4 test suite.
    fn vanilla_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers
    }

    #[test]
    fn the_signing_key_and_signature_follow_the_published_algorithm() {
        // AWS's published example key derivation (service `iam`) gives
        // c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9.
        let mut key = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20150830");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        let headers = vanilla_headers();
        let auth = sign(
            with(&headers, b"{}"),
            "20150830T123600Z",
            SCOPE,
            "AKID",
            "secret",
        );
        let mut signed = headers.clone();
        signed.insert("authorization", auth.parse().unwrap());
        let now = chrono::NaiveDateTime::parse_from_str("20150830T123600Z", AMZ_DATE_FORMAT)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let presented = Presented::parse(&signed).unwrap();
        assert_eq!(presented.access_key_id(), "AKID");
        assert_eq!(presented.check_scope(SERVICE, "us-east-1", now), Ok(()));
        assert_eq!(presented.verify(with(&signed, b"{}"), "secret"), Ok(()));
        assert!(matches!(
            presented.verify(with(&signed, b"{ }"), "secret"),
            Err(ProtocolError::InvalidSignature(_))
        ));
        assert!(matches!(
            presented.verify(with(&signed, b"{}"), "other"),
            Err(ProtocolError::InvalidSignature(_))
        ));
        let late = now + MAX_SKEW_MS + 1000;
        assert!(matches!(
            presented.check_scope(SERVICE, "us-east-1", late),
            Err(ProtocolError::InvalidSignature(m)) if m.contains("expired")
        ));
        let early = now - MAX_SKEW_MS - 1000;
        assert!(presented.check_scope(SERVICE, "us-east-1", early).is_err());
        assert!(matches!(
            presented.check_scope(SERVICE, "eu-west-1", now),
            Err(ProtocolError::InvalidSignature(m)) if m.contains("region")
        ));
        assert!(matches!(
            presented.check_scope("sso", "us-east-1", now),
            Err(ProtocolError::InvalidSignature(m)) if m.contains("service")
        ));
        // The form alone is what `--aws-auth any` checks: a stale, changed request passes it.
        let mut stale = signed.clone();
        stale.insert("x-amz-date", "20000101T000000Z".parse().unwrap());
        assert!(Presented::parse(&stale).is_ok());
    }

    fn with<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body,
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        assert!(matches!(
            Authorization::parse("Bearer abc"),
            Err(ProtocolError::IncompleteSignature(_))
        ));
        assert!(matches!(
            Authorization::parse("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab"),
            Err(ProtocolError::IncompleteSignature(m)) if m.contains("Credential")
        ));
        let ok = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/identitystore/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=0a1b",
        )
        .unwrap();
        assert_eq!(ok.access_key_id, "AKID");
        assert_eq!(ok.signed_headers, ["host", "x-amz-date"]);
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-date", "20260101T000000Z".parse().unwrap());
        assert_eq!(
            Presented::parse(&headers),
            Err(ProtocolError::MissingAuthenticationToken)
        );
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/identitystore/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=0a1b"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "yesterday".parse().unwrap());
        assert!(matches!(
            Presented::parse(&headers),
            Err(ProtocolError::IncompleteSignature(m)) if m.contains("X-Amz-Date")
        ));
    }
}
