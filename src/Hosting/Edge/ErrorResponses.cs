using System.Net;
using Microsoft.AspNetCore.Http;

namespace Porter.Hosting.Edge;

/// <summary>Porter's own error answers: short HTML pages with the right status, and Retry-After where waiting helps.</summary>
public static class ErrorResponses
{
    /// <summary>Writes an error page unless the response has already started.</summary>
    /// <param name="details">Shown only in development: the cause and the app's stderr tail.</param>
    public static Task WriteAsync(HttpContext context, int status, string message, int? retryAfterSeconds = null,
        IEnumerable<string>? details = null)
    {
        var response = context.Response;
        if (response.HasStarted) return Task.CompletedTask;
        response.Clear();
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        if (retryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentType = "text/html; charset=utf-8";
        if (HttpMethods.IsHead(context.Request.Method)) return Task.CompletedTask;

        var body = new System.Text.StringBuilder()
            .Append("<!DOCTYPE html><html><head><title>").Append(status).Append(' ').Append(WebUtility.HtmlEncode(message))
            .Append("</title></head><body><h1>").Append(WebUtility.HtmlEncode(message)).Append("</h1>");
        if (details is not null)
        {
            body.Append("<pre>");
            foreach (var line in details) body.Append(WebUtility.HtmlEncode(line)).Append('\n');
            body.Append("</pre>");
        }
        body.Append("<p>Porter</p></body></html>\n");
        return response.WriteAsync(body.ToString(), context.RequestAborted);
    }
}
