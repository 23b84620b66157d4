//! Bearer-token authentication and role checks.
//!
//! The [`Authenticator`] runs as a tonic interceptor in front of every adstore service: it reads
//! `authorization: Bearer <token>`, compares it in constant time with every configured token
//! (so timing says nothing about which or how much of a token matched), and attaches the
//! caller's [`Principal`] to the request. Each RPC then asks the principal for its
//! [`Permission`]. No token configured means no authentication: every caller is an admin.
//! Tokens are never logged; a token's configured name is.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tonic::{Request, Status};

use super::config::{Role, TokenConfig};

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `Append`, `AppendBatch`.
    Ingest,
    /// `Sql`, `Aggregate`, `Stats`.
    Read,
    /// `Flush`, `DeadLetters`.
    Admin,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's name (`anonymous` without authentication).
    pub name: Arc<str>,
    /// Its role.
    pub role: Role,
    /// Campaign prefixes a read token is restricted to.
    pub campaign_prefixes: Option<Arc<[String]>>,
}

impl Principal {
    fn anonymous() -> Principal {
        Principal {
            name: Arc::from("anonymous"),
            role: Role::Admin,
            campaign_prefixes: None,
        }
    }

    /// `Ok` when the role grants `permission`, else PERMISSION_DENIED.
    pub fn require(&self, permission: Permission) -> Result<(), Status> {
        let granted = match (self.role, permission) {
            (Role::Admin, _) => true,
            (Role::Ingest, Permission::Ingest) => true,
            (Role::Read, Permission::Read) => true,
            (Role::Ingest | Role::Read, _) => false,
        };
        if granted {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "token {:?} ({:?} role) may not call this method",
                self.name, self.role
            )))
        }
    }

    /// The principal attached by the interceptor (missing only if a service was mounted without
    /// it, which is a bug: refused rather than allowed).
    pub fn of<T>(request: &Request<T>) -> Result<Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Status::internal("request reached a service without authentication"))
    }
}

/// The interceptor: authenticates and attaches a [`Principal`].
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<[TokenConfig]>,
}

impl Authenticator {
    /// An authenticator over the configured tokens.
    pub fn new(tokens: &[TokenConfig]) -> Authenticator {
        Authenticator {
            tokens: Arc::from(tokens.to_vec()),
        }
    }

    /// Finds the principal a presented token belongs to. Every configured token is compared,
    /// each in constant time, whatever matched before.
    fn principal(&self, presented: &[u8]) -> Option<Principal> {
        let mut found = None;
        for t in self.tokens.iter() {
            if bool::from(t.token.as_bytes().ct_eq(presented)) {
                found = Some(Principal {
                    name: Arc::from(t.name.as_str()),
                    role: t.role,
                    campaign_prefixes: t.campaign_prefixes.as_deref().map(Arc::from),
                });
            }
        }
        found
    }

    /// Checks one request.
    pub fn check<T>(&self, mut request: Request<T>) -> Result<Request<T>, Status> {
        let principal =
            if self.tokens.is_empty() {
                Principal::anonymous()
            } else {
                let header = request.metadata().get("authorization").ok_or_else(|| {
                    Status::unauthenticated("missing authorization: Bearer <token>")
                })?;
                let token = header.as_bytes().strip_prefix(b"Bearer ").ok_or_else(|| {
                    Status::unauthenticated("authorization must be Bearer <token>")
                })?;
                self.principal(token)
                    .ok_or_else(|| Status::unauthenticated("unknown token"))?
            };
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<TokenConfig> {
        vec![
            TokenConfig {
                name: "i".into(),
                token: "ingest-token-0000001".into(),
                role: Role::Ingest,
                campaign_prefixes: None,
            },
            TokenConfig {
                name: "r".into(),
                token: "read-token-000000001".into(),
                role: Role::Read,
                campaign_prefixes: Some(vec!["cmp-1".into()]),
            },
        ]
    }

    fn with_token(token: Option<&str>) -> Request<()> {
        let mut r = Request::new(());
        if let Some(t) = token {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        r
    }

    #[test]
    fn tokens_map_to_roles_and_unknown_ones_are_refused() {
        let auth = Authenticator::new(&tokens());
        let code = |t: Option<&str>| auth.check(with_token(t)).err().map(|s| s.code());
        assert_eq!(code(None), Some(tonic::Code::Unauthenticated));
        assert_eq!(code(Some("nope")), Some(tonic::Code::Unauthenticated));
        assert_eq!(
            code(Some("read-token-00000000")),
            Some(tonic::Code::Unauthenticated)
        );
        let r = auth
            .check(with_token(Some("read-token-000000001")))
            .unwrap();
        let p = Principal::of(&r).unwrap();
        assert_eq!(p.role, Role::Read);
        assert!(p.require(Permission::Read).is_ok());
        assert_eq!(
            p.require(Permission::Ingest).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            p.campaign_prefixes.as_deref(),
            Some(&["cmp-1".to_string()][..])
        );
    }

    #[test]
    fn without_tokens_everyone_is_admin() {
        let auth = Authenticator::new(&[]);
        let p = Principal::of(&auth.check(with_token(None)).unwrap()).unwrap();
        assert!(p.require(Permission::Admin).is_ok());
    }
}
