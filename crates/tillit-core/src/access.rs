//! Who may do what: roles, API-key scopes and shared links reduced to one set of grants, and the
//! single decision function every route and key goes through ([`Principal::can`]).
//!
//! Site permissions hold on one site (or every site, for grants without a site); instance
//! permissions (sites, users, audit) only come from grants on every site.

use std::fmt;
use std::str::FromStr;

/// What a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See a site's dashboard (anonymous, aggregate analytics).
    ViewDashboard,
    /// Read analytics beyond the dashboard: the Stats API and exports.
    ReadAnalytics,
    /// Change a site's settings: goals, funnels, shared links, its API keys.
    ManageSite,
    /// Work with the contact ledger and campaigns.
    ManageLedger,
    /// See or export personal data held in the ledger.
    ReadPersonalData,
    /// Add and remove sites (instance-wide).
    ManageSites,
    /// Add, change and remove users and their roles; instance security settings (instance-wide).
    ManageUsers,
    /// Read and export the audit log (instance-wide).
    ReadAudit,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::ViewDashboard,
        Permission::ReadAnalytics,
        Permission::ManageSite,
        Permission::ManageLedger,
        Permission::ReadPersonalData,
        Permission::ManageSites,
        Permission::ManageUsers,
        Permission::ReadAudit,
    ];

    /// Whether the permission is about the instance rather than one site.
    pub fn is_instance_wide(self) -> bool {
        matches!(self, Permission::ManageSites | Permission::ManageUsers | Permission::ReadAudit)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of permissions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions(u16);

impl Permissions {
    pub fn of(perms: &[Permission]) -> Permissions {
        Permissions(perms.iter().fold(0, |acc, p| acc | p.bit()))
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }
}

/// A user's role on a site (or on every site).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Owner,
    Admin,
    Marketer,
    Analyst,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Marketer, Role::Analyst, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Marketer => "marketer",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    /// What the role allows. Analysts never reach personal data; viewers see dashboards only.
    pub fn permissions(self) -> Permissions {
        use Permission::*;
        match self {
            Role::Owner => Permissions::of(&Permission::ALL),
            Role::Admin => Permissions::of(&[
                ViewDashboard,
                ReadAnalytics,
                ManageSite,
                ManageLedger,
                ReadPersonalData,
                ManageSites,
            ]),
            Role::Marketer => Permissions::of(&[ViewDashboard, ReadAnalytics, ManageLedger, ReadPersonalData]),
            Role::Analyst => Permissions::of(&[ViewDashboard, ReadAnalytics]),
            Role::Viewer => Permissions::of(&[ViewDashboard]),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (owner, admin, marketer, analyst or viewer)"))
    }
}

/// What an API key may do on its sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    ReadAnalytics,
    ManageLedger,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadAnalytics => "read-analytics",
            Scope::ManageLedger => "manage-ledger",
        }
    }

    pub fn permissions(self) -> Permissions {
        use Permission::*;
        match self {
            Scope::ReadAnalytics => Permissions::of(&[ViewDashboard, ReadAnalytics]),
            Scope::ManageLedger => Permissions::of(&[ManageLedger, ReadPersonalData]),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        match s {
            "read-analytics" => Ok(Scope::ReadAnalytics),
            "manage-ledger" => Ok(Scope::ManageLedger),
            _ => Err(format!("unknown scope {s:?} (read-analytics or manage-ledger)")),
        }
    }
}

/// Permissions on one site, or on every site (`site` = `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub site: Option<u32>,
    pub perms: Permissions,
}

/// Who is asking, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
        email: String,
    },
    ApiKey {
        id: i64,
        prefix: String,
    },
    SharedLink {
        id: i64,
    },
    /// The operator's admin token (`TILLIT_ADMIN_TOKEN`), or the command line.
    Operator,
    /// A person in the ledger acting on their own data (preference centre), by public id.
    Contact {
        public_id: String,
    },
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { id, email } => write!(f, "user:{id}:{email}"),
            Actor::ApiKey { id, prefix } => write!(f, "key:{id}:{prefix}"),
            Actor::SharedLink { id } => write!(f, "shared-link:{id}"),
            Actor::Operator => f.write_str("operator"),
            Actor::Contact { public_id } => write!(f, "contact:{public_id}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// An authenticated caller and everything it was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
    pub grants: Vec<Grant>,
}

impl Principal {
    pub fn anonymous() -> Principal {
        Principal { actor: Actor::Anonymous, grants: Vec::new() }
    }

    pub fn operator() -> Principal {
        Principal { actor: Actor::Operator, grants: vec![Grant { site: None, perms: Role::Owner.permissions() }] }
    }

    pub fn user(id: i64, email: &str, roles: &[(Option<u32>, Role)]) -> Principal {
        Principal {
            actor: Actor::User { id, email: email.to_owned() },
            grants: roles.iter().map(|(site, role)| Grant { site: *site, perms: role.permissions() }).collect(),
        }
    }

    pub fn api_key(id: i64, prefix: &str, sites: &[u32], scopes: &[Scope]) -> Principal {
        let perms = scopes.iter().fold(Permissions::default(), |acc, s| acc.union(s.permissions()));
        Principal {
            actor: Actor::ApiKey { id, prefix: prefix.to_owned() },
            grants: sites.iter().map(|s| Grant { site: Some(*s), perms }).collect(),
        }
    }

    pub fn shared_link(id: i64, site: u32) -> Principal {
        Principal {
            actor: Actor::SharedLink { id },
            grants: vec![Grant { site: Some(site), perms: Permissions::of(&[Permission::ViewDashboard]) }],
        }
    }

    /// The one access decision. Site permissions need a site; instance permissions ignore it and
    /// hold only through grants on every site.
    pub fn can(&self, perm: Permission, site: Option<u32>) -> bool {
        if perm.is_instance_wide() {
            return self.grants.iter().any(|g| g.site.is_none() && g.perms.contains(perm));
        }
        let Some(site) = site else { return false };
        self.grants.iter().any(|g| g.site.is_none_or(|s| s == site) && g.perms.contains(perm))
    }

    /// Whether the principal may do `perm` on every site (e.g. to list them all).
    pub fn can_everywhere(&self, perm: Permission) -> bool {
        self.grants.iter().any(|g| g.site.is_none() && g.perms.contains(perm))
    }

    /// Of `sites`, those on which the principal may do `perm`.
    pub fn sites_with(&self, perm: Permission, sites: impl IntoIterator<Item = u32>) -> Vec<u32> {
        sites.into_iter().filter(|s| self.can(perm, Some(*s))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix() {
        use Permission::*;
        // Rows: owner, admin, marketer, analyst, viewer; columns in Permission::ALL order.
        let expected: [[bool; 8]; 5] = [
            [true, true, true, true, true, true, true, true],
            [true, true, true, true, true, true, false, false],
            [true, true, false, true, true, false, false, false],
            [true, true, false, false, false, false, false, false],
            [true, false, false, false, false, false, false, false],
        ];
        for (role, row) in Role::ALL.iter().zip(expected) {
            let p = Principal::user(1, "a@b.c", &[(None, *role)]);
            for (perm, want) in Permission::ALL.iter().zip(row) {
                assert_eq!(p.can(*perm, Some(7)), want, "{role} {perm:?}");
            }
        }
        assert!(!Principal::user(1, "a@b.c", &[(None, Role::Analyst)]).can(ReadPersonalData, Some(1)));
    }

    #[test]
    fn site_roles_stay_on_their_site() {
        let p = Principal::user(1, "a@b.c", &[(Some(1), Role::Admin), (Some(2), Role::Viewer)]);
        assert!(p.can(Permission::ManageSite, Some(1)));
        assert!(!p.can(Permission::ManageSite, Some(2)));
        assert!(p.can(Permission::ViewDashboard, Some(2)));
        assert!(!p.can(Permission::ViewDashboard, Some(3)));
        // A site admin is no instance admin.
        assert!(!p.can(Permission::ManageSites, None));
        assert!(!p.can(Permission::ManageSites, Some(1)));
        // A site permission without a site is refused, never assumed.
        assert!(!p.can(Permission::ViewDashboard, None));
        assert_eq!(p.sites_with(Permission::ViewDashboard, [1, 2, 3]), vec![1, 2]);
    }

    #[test]
    fn keys_and_links_get_only_their_scopes() {
        let k = Principal::api_key(1, "tlt_x", &[4], &[Scope::ReadAnalytics]);
        assert!(k.can(Permission::ReadAnalytics, Some(4)));
        assert!(!k.can(Permission::ReadAnalytics, Some(5)));
        assert!(!k.can(Permission::ManageLedger, Some(4)));
        let l = Principal::api_key(2, "tlt_y", &[4], &[Scope::ManageLedger]);
        assert!(l.can(Permission::ManageLedger, Some(4)));
        assert!(!l.can(Permission::ReadAnalytics, Some(4)));
        let s = Principal::shared_link(3, 4);
        assert!(s.can(Permission::ViewDashboard, Some(4)));
        assert!(!s.can(Permission::ReadAnalytics, Some(4)));
        assert!(!s.can(Permission::ViewDashboard, Some(5)));
        assert!(!Principal::anonymous().can(Permission::ViewDashboard, Some(4)));
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!("manage-ledger".parse::<Scope>(), Ok(Scope::ManageLedger));
        assert!("all".parse::<Scope>().is_err());
    }
}
