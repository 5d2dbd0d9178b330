//! `PATCH /api/v1/me`: the display name and the e-mail address. A new address is unverified, and its verification
//! message is queued (within the address's limits: a change past them sends nothing, and the owner can ask again).

use cloudmind_security::events::EventKind;
use cloudmind_security::mail::queue_verification;
use cloudmind_security::users::ProfileChange;
use cloudmind_security::validation::{DisplayName, Email, UpdateProfileRequest};
use cloudmind_security::{ApiError, FieldError};
use cloudmind_serving::gate::{Call, Principal, Reply, StatusCode};

use crate::Protected;

pub(crate) async fn update(state: &Protected, call: &Call<Principal>) -> Result<Reply, ApiError> {
    let user = &call.caller.user;
    let req: UpdateProfileRequest = call.body()?;
    if req.display_name.is_none() && req.email.is_none() {
        return Err(ApiError::ValidationFailed(vec![FieldError::new("body", "give display_name, email or both")]));
    }
    let display_name = req.display_name.as_deref().map(DisplayName::parse).transpose();
    let email = req.email.as_deref().map(Email::parse).transpose();
    let change = match (display_name, email) {
        (Ok(d), Ok(e)) => {
            ProfileChange { display_name: d.map(DisplayName::into_inner), email: e.map(Email::into_inner) }
        }
        (d, e) => return Err(ApiError::ValidationFailed([d.err(), e.err()].into_iter().flatten().collect())),
    };
    let updated = state.users.update_profile(&user.username, &change).await?;
    if updated.email != user.email {
        let queued = queue_verification(state.links.as_ref(), state.mail.as_ref(), &updated.username, call.now).await;
        if let Err(e) = queued {
            let detail = format!("verification not queued: {}", cloudmind_security::store::error_chain(&e));
            state.gate.observer().record(call.event(EventKind::DependencyDegraded).detail(detail)).await;
        }
    }
    Ok(Reply::json(StatusCode::OK, updated.public()))
}
