using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;

namespace Porter.Hosting.Management;

/// <summary>
/// Guards mutating management routes: they need <c>Authorization: Bearer TOKEN</c> matching --management-token;
/// with no token configured they are off (403), so an unconfigured node can never be changed over HTTP.
/// </summary>
public sealed class BearerTokenFilter(PorterOptions options) : IEndpointFilter
{
    private readonly byte[]? _token = options.Management.Token is { Length: > 0 } t ? Encoding.UTF8.GetBytes(t) : null;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_token is null)
            return ManagementErrors.Forbidden("mutating management routes are disabled: start the node with --management-token");
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ManagementErrors.Unauthorized("this route needs Authorization: Bearer <management token>");
        }
        // The header's own bytes (HeaderBytes), compared with the token's UTF-8.
        var offered = HeaderBytes.Encoding.GetBytes(header["Bearer ".Length..].Trim());
        // Constant-time comparison: the time taken says nothing about how much of the token matched.
        if (!CryptographicOperations.FixedTimeEquals(offered, _token))
            return ManagementErrors.Forbidden("the management token is wrong");
        return await next(context);
    }
}
