//! Resetting a guest user's password: through the QEMU guest agent when it answers, otherwise through
//! cloud-init (a new instance-id and a `chpasswd` in the seed, applied at the next boot). The password is
//! never stored or recorded: the seed holds only its crypt hash.
use super::vms::visible;
use super::{audit, cloud_init, vm_create_run};
use crate::auth::{Action, Caller};
use crate::db;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::domain;
use app::api::{PasswordReset, ResetPassword, VmCloudInit};
use serde_json::json;

pub async fn reset(state: &AppState, caller: &Caller, uuid: &str, r: ResetPassword) -> Result<PasswordReset> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmEdit).await?;
    if r.password.chars().count() < cloud_init::MIN_PASSWORD
        || r.password.len() > 256
        || r.password.chars().any(char::is_control)
    {
        return Err(Error::Invalid {
            field: "password",
            reason: "bad_format",
            details: json!({ "min": cloud_init::MIN_PASSWORD, "max": 256 }),
        });
    }
    let seed = db::vm_cloud_init::get(&state.db, uuid).await?;
    let made_with: Option<VmCloudInit> = seed.as_ref().and_then(|s| serde_json::from_str(&s.settings).ok());
    let user = match (&r.user, &made_with) {
        (Some(u), _) => u.clone(),
        (None, Some(m)) => m.user.clone(),
        (None, None) => return Err(Error::invalid("user", "required")),
    };
    cloud_init::user_name(&user).map_err(|_| Error::invalid("user", "bad_format"))?;

    // The guest agent, when the VM runs and the agent answers.
    let (id, u, pw) = (vm.uuid.clone(), user.clone(), r.password.clone());
    let by_agent = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            Ok(dom.is_active()? && dom.set_user_password(&u, &pw, 0).is_ok())
        })
        .await?;
    let result = if by_agent {
        PasswordReset {
            method: "agent".into(),
            user: user.clone(),
            reboot_required: false,
        }
    } else {
        let Some(seed) = seed else {
            return Err(Error::InvalidState(
                "no guest agent answers in this VM and it has no cloud-init seed: set the password inside the guest"
                    .into(),
            ));
        };
        let pw = r.password.clone();
        let hash = tokio::task::spawn_blocking(move || cloud_init::hash_password(&pw))
            .await
            .map_err(|e| Error::Internal(e.into()))??;
        let base: serde_norway::Mapping =
            serde_norway::from_str(&seed.user_data).map_err(|e| Error::Internal(e.into()))?;
        let hostname = made_with
            .as_ref()
            .map(|m| m.hostname.clone())
            .unwrap_or_else(|| vm.name.clone());
        // A new instance-id makes cloud-init run its once-per-instance modules (chpasswd) again.
        let instance = format!("hangar-{}-{}", uuid, crate::auth::tokens::random_hex(4));
        let files = [
            ("meta-data", cloud_init::meta_data(&instance, &hostname)?),
            ("user-data", cloud_init::with_password_change(base, &user, &hash)?),
            // Written anew: a seed stored before every string was quoted may hold a MAC YAML reads as a number.
            (
                "network-config",
                cloud_init::rewrite_network_config(&seed.network_config, &Default::default())?,
            ),
        ];
        let host = super::hosts::row(state, seed.host_id).await?;
        vm_create_run::write_seed(state, host.id, &host.name, &seed.pool_uuid, &seed.seed_volume, &files).await?;
        let mut tx = db::begin_write(&state.db).await?;
        db::vm_cloud_init::set_instance(&mut tx, uuid, &instance).await?;
        tx.commit().await?;
        PasswordReset {
            method: "cloud_init".into(),
            user: user.clone(),
            reboot_required: true,
        }
    };
    let details = json!({ "user": user, "method": result.method, "reboot_required": result.reboot_required });
    audit::record_alone(
        state,
        caller,
        "vm.password_reset",
        Some(&format!("vm:{uuid}")),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    Ok(result)
}
