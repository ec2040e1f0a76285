//! Phase "match route": the route of the resolved stage, and the path parameter values.

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::snapshot::CompiledStage;
use archway_model::{GatewayResponseType, Protocol};

/// Sets `ctx.route` and `ctx.captures` (where each path parameter's value lies); no route is
/// REST's 403 `Missing Authentication Token` or HTTP APIs' 404 `Not Found`.
pub fn match_route(ctx: &mut RequestContext, stage: &CompiledStage) -> Result<(), GatewayError> {
    let Some(m) = stage.router.find(&ctx.method, ctx.view()) else {
        return Err(GatewayError::new(match stage.protocol {
            Protocol::Rest => GatewayResponseType::MissingAuthenticationToken,
            Protocol::Http => GatewayResponseType::ResourceNotFound,
        }));
    };
    ctx.route = Some(m.route);
    ctx.captures = m.captures;
    Ok(())
}
