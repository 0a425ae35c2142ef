//! The three roles. They are not hierarchical: `admin` passes every route, `readonly` reads,
//! `scanreport` posts scan reports and nothing else (the HTTP layer decides per route).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Readonly,
    ScanReport,
}

impl Role {
    /// Every role, in the order error messages list them.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Readonly, Role::ScanReport];

    /// The name used on the wire and in the store: `admin`, `readonly`, `scanreport`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Readonly => "readonly",
            Role::ScanReport => "scanreport",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the three.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRoleError(pub String);

impl fmt::Display for ParseRoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?}: expected admin, readonly or scanreport",
            self.0
        )
    }
}

impl std::error::Error for ParseRoleError {}

impl FromStr for Role {
    type Err = ParseRoleError;

    /// Case-insensitive: `Admin`, `READONLY`, `ScanReport` all parse.
    fn from_str(s: &str) -> Result<Role, ParseRoleError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseRoleError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_case_insensitively() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(r.as_str().to_uppercase().parse::<Role>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
        assert_eq!("ScanReport".parse::<Role>(), Ok(Role::ScanReport));
        let e = "root".parse::<Role>().unwrap_err().to_string();
        assert!(
            e.contains("root") && e.contains("admin, readonly or scanreport"),
            "{e}"
        );
        assert!("".parse::<Role>().is_err());
        assert!("admin ".parse::<Role>().is_err());
    }
}
