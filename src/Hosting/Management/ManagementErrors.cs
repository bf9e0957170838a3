using Microsoft.AspNetCore.Http;

namespace Porter.Hosting.Management;

/// <summary>Management API errors: the status code plus a JSON body with a one-line message.</summary>
public static class ManagementErrors
{
    public static IResult BadRequest(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);

    public static IResult NotFound(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status404NotFound);

    public static IResult Unauthorized(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status401Unauthorized);

    public static IResult Forbidden(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status403Forbidden);
}
