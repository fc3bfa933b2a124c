//! Bind-parameter placeholders for statements built at run time (multi-row inserts, `IN`
//! lists) that must run on both engines.

use sqlx::AnyConnection;

/// Placeholders of a statement built at run time. SQLite finds each named parameter by a
/// linear scan (`sqlite3_bind_parameter_name`), which makes `$n` quadratic in the number of
/// parameters, so there they are anonymous `?` (bound in text order); PostgreSQL takes `$n`.
#[derive(Debug)]
pub struct Placeholders {
    anonymous: bool,
    n: usize,
}

impl Placeholders {
    /// Returns the placeholders for the engine behind `conn`.
    pub fn of(conn: &AnyConnection) -> Self {
        Self::for_backend(conn.backend_name())
    }

    /// Returns the placeholders for the engine named `backend` (`sqlx`'s backend name).
    pub fn for_backend(backend: &str) -> Self {
        Self {
            anonymous: backend.eq_ignore_ascii_case("sqlite"),
            n: 0,
        }
    }

    /// Starts a new statement.
    pub fn restart(&mut self) {
        self.n = 0;
    }

    /// Returns the next placeholder.
    #[allow(
        clippy::should_implement_trait,
        reason = "not an iterator: it never ends and is restarted per statement"
    )]
    pub fn next(&mut self) -> String {
        self.n += 1;
        if self.anonymous {
            "?".to_owned()
        } else {
            format!("${}", self.n)
        }
    }
}
