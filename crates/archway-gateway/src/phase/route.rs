//! Phase "match route": the route of the resolved stage, and the path parameter values.

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::path::SegmentsView;
use crate::router::Capture;
use crate::snapshot::CompiledStage;
use archway_model::{GatewayResponseType, Protocol};

/// Sets `ctx.route`, `ctx.captures` and `ctx.path_params`; no route is REST's 403
/// `Missing Authentication Token` or HTTP APIs' 404 `Not Found`.
pub fn match_route(
    ctx: &mut RequestContext,
    stage: &CompiledStage,
    path: SegmentsView<'_>,
) -> Result<(), GatewayError> {
    let Some(m) = stage.router.find(&ctx.method, path) else {
        return Err(GatewayError::new(match stage.protocol {
            Protocol::Rest => GatewayResponseType::MissingAuthenticationToken,
            Protocol::Http => GatewayResponseType::ResourceNotFound,
        }));
    };
    ctx.path_params = m
        .captures
        .iter()
        .map(|c| match *c {
            Capture::Segment(i) => path.get(i as usize).to_string(),
            Capture::Rest(i) => path.joined_from(i as usize),
        })
        .collect();
    ctx.route = Some(m.route);
    ctx.captures = m.captures;
    Ok(())
}
