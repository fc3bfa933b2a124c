//! Which kinds of caller may call which RPC: a table per service, default deny.

use super::CallerKind;

/// What the policy says of one RPC path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Anyone, with or without identity (health, reflection).
    Public,
    /// Only these kinds of caller.
    Kinds(Vec<CallerKind>),
    /// The path is not in the table: refused as UNIMPLEMENTED, never let through unchecked.
    Unlisted,
}

/// A service's access table. Paths are `/package.Service/Method`, or `/package.Service/*`
/// for every method of a service.
#[derive(Clone, Debug)]
pub struct AccessPolicy {
    rules: Vec<(String, Decision)>,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessPolicy {
    /// Returns a table in which only health and reflection are public.
    pub fn new() -> Self {
        Self {
            rules: vec![
                ("/grpc.health.v1.Health/*".to_owned(), Decision::Public),
                (
                    "/grpc.reflection.v1.ServerReflection/*".to_owned(),
                    Decision::Public,
                ),
                (
                    "/grpc.reflection.v1alpha.ServerReflection/*".to_owned(),
                    Decision::Public,
                ),
            ],
        }
    }

    /// Admits anyone to `path` (a login, for example); the handler authenticates.
    pub fn public(mut self, path: &str) -> Self {
        self.rules.push((path.to_owned(), Decision::Public));
        self
    }

    /// Admits `kinds` to `path`.
    pub fn allow(mut self, path: &str, kinds: &[CallerKind]) -> Self {
        self.rules
            .push((path.to_owned(), Decision::Kinds(kinds.to_vec())));
        self
    }

    /// Returns the decision for a request path; an exact rule beats a service-wide one.
    pub fn decide(&self, path: &str) -> Decision {
        if let Some((_, d)) = self.rules.iter().find(|(p, _)| p == path) {
            return d.clone();
        }
        let service = path.rsplit_once('/').map(|(s, _)| s).unwrap_or(path);
        self.rules
            .iter()
            .find(|(p, _)| p.strip_suffix("/*") == Some(service))
            .map(|(_, d)| d.clone())
            .unwrap_or(Decision::Unlisted)
    }
}
