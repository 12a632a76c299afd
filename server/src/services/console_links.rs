//! Console share links: an owner or admin lets someone without an account see (or use) one VM's console until
//! the link expires or is revoked. The secret is shown once; only its hash is kept; every use is audited with
//! the source address.
use super::vms::visible;
use super::{audit, consoles};
use crate::auth::{tokens, Action, Caller};
use crate::db::{self, consoles::NewLink};
use crate::error::{Error, Result};
use crate::state::AppState;
use app::api::{ConsoleLink, ConsoleLinkCreated, ConsoleTicket, NewConsoleLink};
use serde_json::json;

/// Where the share page lives; the secret follows `#`, so browsers never send it in a request line or a log.
pub const SHARE_PATH: &str = "/console-share";

pub async fn create(state: &AppState, caller: &Caller, uuid: &str, l: NewConsoleLink) -> Result<ConsoleLinkCreated> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::ConsoleShare).await?;
    let max = state.config.consoles.link_max_hours * 60;
    if !(1..=max).contains(&l.expires_minutes) {
        return Err(Error::Invalid {
            field: "expires_minutes",
            reason: "out_of_range",
            details: json!({ "min": 1, "max": max }),
        });
    }
    let secret = tokens::random_urlsafe(32);
    let now = db::now_ms();
    let mut tx = db::begin_write(&state.db).await?;
    let id = db::consoles::insert_link(
        &mut tx,
        &NewLink {
            token_hash: &tokens::hash_token(&secret),
            vm_uuid: &vm.uuid,
            kind: l.kind,
            view_only: l.view_only,
            created_by: (p.id, &p.username),
            now,
            expires_at: now + l.expires_minutes * 60_000,
        },
    )
    .await?;
    let row = db::consoles::link(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("console_link"))?;
    let details = json!({ "vm": vm.uuid, "kind": l.kind.as_str(), "view_only": l.view_only,
        "expires_minutes": l.expires_minutes });
    audit::commit(
        tx,
        caller,
        "console_link.create",
        &format!("console_link:{id}"),
        &details,
    )
    .await?;
    Ok(ConsoleLinkCreated {
        link: row.to_api(),
        url: format!("{SHARE_PATH}#{secret}"),
    })
}

pub async fn list(state: &AppState, caller: &Caller, uuid: &str) -> Result<Vec<ConsoleLink>> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::ConsoleShare).await?;
    let rows = db::consoles::links_of(&state.db, &vm.uuid, db::now_ms()).await?;
    Ok(rows.iter().map(|r| r.to_api()).collect())
}

/// Revokes a link and ends the sessions it opened.
pub async fn revoke(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?;
    let row = {
        let mut c = state.db.acquire().await?;
        db::consoles::link(&mut c, id).await?
    };
    let Some(row) = row else {
        return Err(Error::NotFound("console_link"));
    };
    // Someone else's VM's link does not exist for the caller.
    visible(state, p, &row.vm_uuid, Action::ConsoleShare)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound("console_link"),
            e => e,
        })?;
    let mut tx = db::begin_write(&state.db).await?;
    if !db::consoles::revoke(&mut tx, id, db::now_ms()).await? {
        return Err(Error::InvalidState("the link was already revoked".into()));
    }
    let details = json!({ "vm": row.vm_uuid });
    audit::commit(
        tx,
        caller,
        "console_link.revoke",
        &format!("console_link:{id}"),
        &details,
    )
    .await?;
    state
        .consoles
        .end_where("link_revoked", |l| l.holder.link_id == Some(id));
    Ok(())
}

/// `POST /api/v1/console-links/open`: anyone holding a live link's secret gets a ticket for its console.
pub async fn open(state: &AppState, caller: &Caller, token: &str) -> Result<ConsoleTicket> {
    let refused = |why: &'static str, link: Option<i64>| async move {
        let target = link.map(|l| format!("console_link:{l}"));
        let _ = audit::record_alone(
            state,
            caller,
            "console_link.open",
            target.as_deref(),
            audit::Outcome::Denied,
            &json!({ "reason": why }),
        )
        .await;
    };
    // Guessing secrets is throttled per source address like sign-ins are: a few wrong links, then 429 and at
    // most one record a minute.
    let now = db::now_ms();
    let guesser = format!("console-link@{}", caller.source);
    let attempt = match state.throttle.begin(&guesser, &caller.source, now) {
        Ok(a) => a,
        Err(r) => {
            match state.throttle.record_denial(&r.key, now) {
                Some(_) => refused("too_many_attempts", None).await,
                None => caller.slot.mark_written(),
            }
            return Err(Error::TooManyAttempts {
                retry_after: r.retry_after,
            });
        }
    };
    let found = if token.len() > 128 {
        None
    } else {
        db::consoles::link_by_hash(&state.db, &tokens::hash_token(token)).await?
    };
    let Some(link) = found else {
        attempt.failed(now);
        refused("unknown", None).await;
        return Err(Error::NotFound("console_link"));
    };
    attempt.succeeded();
    if !link.live(now) {
        let why = if link.revoked_at.is_some() {
            "revoked"
        } else {
            "expired"
        };
        refused(why, Some(link.id)).await;
        return Err(Error::LinkExpired);
    }
    // The link speaks for its creator: once they may no longer share the VM, it opens nothing.
    if !consoles::link_creator_may_share(state, &link).await? {
        refused("creator_lost_access", Some(link.id)).await;
        return Err(Error::LinkExpired);
    }
    let vm = super::vms::row(state, &link.vm_uuid).await?;
    let kind = app::api::ConsoleKind::parse(&link.kind).unwrap_or(app::api::ConsoleKind::Vnc);
    let ticket = consoles::open_for_link(state, &vm, &link, kind).await?;
    let mut tx = db::begin_write(&state.db).await?;
    if !db::consoles::use_link(&mut tx, link.id, now).await? {
        drop(tx);
        refused("expired", Some(link.id)).await;
        return Err(Error::LinkExpired);
    }
    let details = json!({ "vm": vm.uuid, "kind": kind.as_str(), "view_only": link.view_only });
    audit::commit(
        tx,
        caller,
        "console_link.open",
        &format!("console_link:{}", link.id),
        &details,
    )
    .await?;
    Ok(ticket)
}
