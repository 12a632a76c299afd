//! The one place that decides whether a principal may do an action on a resource.
use super::Principal;
use crate::error::{Error, Result};
use app::api::{Capabilities, Role, Scope};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    UserList,
    UserRead,
    UserCreate,
    UserUpdate,
    UserDelete,
    QuotaUpdate,
    AuditRead,
    /// List, create and revoke API tokens.
    TokenManage,
    /// Change one's own password, language, name and avatar.
    ProfileUpdate,
    HostRead,
    /// Register, edit and remove hosts.
    HostManage,
    VmRead,
    /// Make a new VM owned by `Resource::Vm(Some(owner))` (someone else's also needs `VmAssign`).
    VmCreate,
    /// Start, stop, reboot, pause…
    VmOperate,
    VmEdit,
    VmDelete,
    /// Give a VM to a user (counted against their quota).
    VmAssign,
    /// See storage pools and volumes.
    StorageRead,
    /// Create, start, stop and delete pools; create, resize, clone, wipe, delete and fill volumes.
    StorageManage,
    /// See every account's tasks (everyone sees their own).
    TaskReadAll,
    /// Stop a task (of `Resource::User(owner)`).
    TaskCancel,
    /// See an image and make VMs from it.
    ImageRead,
    /// Upload, import, edit, copy and delete an image.
    ImageManage,
    /// Create, list and revoke share links to a VM's console (`Resource::Vm`).
    ConsoleShare,
    /// End a console session of `Resource::User(holder)` (`Resource::System`: a share link's).
    ConsoleEnd,
    /// See the alert rules, alerts and notification channels of `Resource::User(owner)`.
    AlertRead,
    /// Create, change and delete the alert rules and channels of `Resource::User(owner)`; acknowledge alerts.
    AlertManage,
    /// Alert rules over every VM and over hosts and pools (not only one's own VMs).
    AlertWatchAll,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Hangar as a whole (lists, the audit log).
    System,
    /// A user account, or something that belongs to one.
    User(i64),
    /// A virtual machine and its owner (none for domains Hangar did not create).
    Vm(Option<i64>),
    /// An image: public (everyone's) or private to its owner.
    Image { owner: Option<i64>, public: bool },
}

fn allows(p: &Principal, action: Action, resource: Resource) -> bool {
    use Action::*;
    let own = matches!(resource,
        Resource::User(id) | Resource::Vm(Some(id)) | Resource::Image { owner: Some(id), public: false }
        if id == p.id);
    // Public images are everyone's to use.
    if action == ImageRead && matches!(resource, Resource::Image { public: true, .. }) {
        return true;
    }
    // Another user's private image is theirs: operators may read it, only admins may change it.
    if action == ImageManage
        && matches!(resource, Resource::Image { public: false, .. })
        && !own
        && p.role != Role::Admin
    {
        return false;
    }
    match p.role {
        Role::Admin => true,
        Role::Auditor => {
            matches!(
                action,
                UserList | UserRead | AuditRead | HostRead | VmRead | StorageRead | TaskReadAll | ImageRead | AlertRead
            ) || (own && matches!(action, TokenManage | ProfileUpdate | TaskCancel))
        }
        Role::Operator => {
            matches!(
                action,
                UserList
                    | UserRead
                    | HostRead
                    | HostManage
                    | VmRead
                    | VmOperate
                    | VmEdit
                    | VmDelete
                    | StorageRead
                    | StorageManage
                    | TaskReadAll
                    | TaskCancel
                    | ImageRead
                    | ImageManage
                    | AlertRead
                    | AlertWatchAll
            ) || (own
                && matches!(
                    action,
                    TokenManage | ProfileUpdate | VmCreate | ConsoleShare | ConsoleEnd | AlertManage
                ))
        }
        Role::User => {
            own && matches!(
                action,
                UserRead
                    | TokenManage
                    | ProfileUpdate
                    | VmRead
                    | VmCreate
                    | VmOperate
                    | VmEdit
                    | VmDelete
                    | TaskCancel
                    | ImageRead
                    | ImageManage
                    | ConsoleShare
                    | ConsoleEnd
                    | AlertRead
                    | AlertManage
            )
        }
    }
}

/// Which VMs and VM events the principal sees: every one, or only its own.
pub fn scope(p: &Principal) -> Scope {
    if allows(p, Action::VmRead, Resource::Vm(None)) {
        Scope::All
    } else {
        Scope::Own
    }
}

impl Principal {
    /// Whether the principal sees a VM owned by `owner` (none: unowned).
    pub fn sees_vm(&self, owner: Option<i64>) -> bool {
        allows(self, Action::VmRead, Resource::Vm(owner))
    }

    /// A VM as this principal may see it: the owner a domain's metadata claims is for those who assign owners.
    pub fn redact(&self, mut vm: app::api::Vm) -> app::api::Vm {
        if !allows(self, Action::VmAssign, Resource::Vm(None)) {
            vm.claimed_owner = None;
        }
        vm
    }
}

/// Everything the principal may do, for `GET /api/v1/auth/me`: read off the same rules that decide requests.
pub fn capabilities(p: &Principal) -> Capabilities {
    let own_vm = Resource::Vm(Some(p.id));
    Capabilities {
        scope: scope(p),
        list_users: allows(p, Action::UserList, Resource::System),
        manage_users: allows(p, Action::UserCreate, Resource::System),
        read_audit: allows(p, Action::AuditRead, Resource::System),
        read_hosts: allows(p, Action::HostRead, Resource::System),
        manage_hosts: allows(p, Action::HostManage, Resource::System),
        operate_vms: allows(p, Action::VmOperate, own_vm),
        edit_vms: allows(p, Action::VmEdit, own_vm),
        delete_vms: allows(p, Action::VmDelete, own_vm),
        assign_vms: allows(p, Action::VmAssign, Resource::Vm(None)),
        read_storage: allows(p, Action::StorageRead, Resource::System),
        manage_storage: allows(p, Action::StorageManage, Resource::System),
        manage_public_images: allows(
            p,
            Action::ImageManage,
            Resource::Image {
                owner: None,
                public: true,
            },
        ),
        upload_images: allows(
            p,
            Action::ImageManage,
            Resource::Image {
                owner: Some(p.id),
                public: false,
            },
        ),
        manage_any_image: allows(
            p,
            Action::ImageManage,
            Resource::Image {
                owner: None,
                public: false,
            },
        ),
        create_vms: allows(p, Action::VmCreate, own_vm),
        default_quota: None,
    }
}

pub fn authorize(p: &Principal, action: Action, resource: Resource) -> Result<()> {
    if allows(p, action, resource) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_the_rules() {
        let user = capabilities(&p(5, Role::User));
        assert_eq!(user.scope, Scope::Own);
        assert!(user.operate_vms && user.edit_vms && !user.assign_vms && !user.read_hosts && !user.list_users);
        let auditor = capabilities(&p(6, Role::Auditor));
        assert_eq!(auditor.scope, Scope::All);
        assert!(auditor.read_audit && !auditor.operate_vms && !auditor.edit_vms);
        let operator = capabilities(&p(7, Role::Operator));
        assert!(operator.manage_hosts && operator.operate_vms && !operator.assign_vms && !operator.manage_users);
        let admin = capabilities(&p(8, Role::Admin));
        assert!(admin.assign_vms && admin.manage_users && admin.read_audit);
    }

    fn p(id: i64, role: Role) -> Principal {
        Principal {
            id,
            username: format!("u{id}"),
            role,
            via_token: false,
        }
    }

    #[test]
    fn users_see_only_themselves() {
        let u = p(7, Role::User);
        assert!(authorize(&u, Action::UserRead, Resource::User(7)).is_ok());
        assert!(authorize(&u, Action::UserRead, Resource::User(8)).is_err());
        assert!(authorize(&u, Action::UserList, Resource::System).is_err());
        assert!(authorize(&u, Action::QuotaUpdate, Resource::User(7)).is_err());
        assert!(authorize(&u, Action::AuditRead, Resource::System).is_err());
    }

    #[test]
    fn auditors_read_everything_and_change_nothing_but_themselves() {
        let a = p(3, Role::Auditor);
        assert!(authorize(&a, Action::AuditRead, Resource::System).is_ok());
        assert!(authorize(&a, Action::UserRead, Resource::User(9)).is_ok());
        for act in [
            Action::UserCreate,
            Action::UserUpdate,
            Action::UserDelete,
            Action::QuotaUpdate,
        ] {
            assert!(authorize(&a, act, Resource::User(9)).is_err(), "{act:?}");
        }
        assert!(authorize(&a, Action::TokenManage, Resource::User(3)).is_ok());
        assert!(authorize(&a, Action::TokenManage, Resource::User(9)).is_err());
    }

    #[test]
    fn users_act_on_their_own_vms_only() {
        let u = p(7, Role::User);
        assert!(authorize(&u, Action::VmOperate, Resource::Vm(Some(7))).is_ok());
        assert!(authorize(&u, Action::VmOperate, Resource::Vm(Some(8))).is_err());
        assert!(authorize(&u, Action::VmRead, Resource::Vm(None)).is_err());
        assert!(authorize(&u, Action::VmAssign, Resource::Vm(Some(7))).is_err());
        assert!(authorize(&u, Action::HostRead, Resource::System).is_err());
        let o = p(2, Role::Operator);
        assert!(authorize(&o, Action::VmOperate, Resource::Vm(None)).is_ok());
        assert!(authorize(&o, Action::VmAssign, Resource::Vm(None)).is_err());
        let a = p(3, Role::Auditor);
        assert!(authorize(&a, Action::VmRead, Resource::Vm(Some(9))).is_ok());
        assert!(authorize(&a, Action::VmOperate, Resource::Vm(Some(9))).is_err());
    }

    #[test]
    fn images_public_to_all_private_to_owner() {
        let public = Resource::Image {
            owner: Some(1),
            public: true,
        };
        let mine = Resource::Image {
            owner: Some(7),
            public: false,
        };
        let theirs = Resource::Image {
            owner: Some(8),
            public: false,
        };
        let u = p(7, Role::User);
        assert!(authorize(&u, Action::ImageRead, public).is_ok());
        assert!(authorize(&u, Action::ImageManage, public).is_err());
        assert!(authorize(&u, Action::ImageRead, mine).is_ok());
        assert!(authorize(&u, Action::ImageManage, mine).is_ok());
        assert!(authorize(&u, Action::ImageRead, theirs).is_err());
        assert!(authorize(&u, Action::ImageManage, theirs).is_err());
        assert!(authorize(&u, Action::StorageRead, Resource::System).is_err());
        let o = p(2, Role::Operator);
        assert!(authorize(&o, Action::ImageManage, public).is_ok());
        assert!(authorize(&o, Action::ImageRead, theirs).is_ok());
        assert!(
            authorize(&o, Action::ImageManage, theirs).is_err(),
            "a user's private image is theirs"
        );
        assert!(authorize(&o, Action::StorageManage, Resource::System).is_ok());
        let a = p(3, Role::Auditor);
        assert!(authorize(&a, Action::ImageRead, theirs).is_ok());
        assert!(authorize(
            &a,
            Action::ImageManage,
            Resource::Image {
                owner: Some(3),
                public: false
            }
        )
        .is_err());
        assert!(authorize(&a, Action::StorageManage, Resource::System).is_err());
        assert!(authorize(&a, Action::TaskCancel, Resource::User(9)).is_err());
        assert!(authorize(&u, Action::TaskCancel, Resource::User(8)).is_err());
        assert!(authorize(&u, Action::TaskCancel, Resource::User(7)).is_ok());
    }

    #[test]
    fn operators_cannot_manage_accounts_or_read_audit() {
        let o = p(2, Role::Operator);
        assert!(authorize(&o, Action::UserList, Resource::System).is_ok());
        assert!(authorize(&o, Action::UserUpdate, Resource::User(5)).is_err());
        assert!(authorize(&o, Action::AuditRead, Resource::System).is_err());
    }
}
