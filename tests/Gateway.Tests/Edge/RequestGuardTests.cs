using Porter.Gateway.Edge;

namespace Porter.Gateway.Tests.Edge;

public sealed class RequestGuardTests
{
    [Theory]
    [InlineData("/../etc/passwd")]
    [InlineData("/a/../../etc/passwd")]
    [InlineData("/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/%2E%2E%2F%2E%2E%2Fetc/passwd")]
    [InlineData("/..%2f..%2fetc/passwd")]
    [InlineData("/..%5c..%5cetc/passwd")]
    [InlineData("/..\\..\\etc\\passwd")]
    [InlineData("/%252e%252e/etc/passwd")]
    [InlineData("/.%2e/secret")]
    public void Finds_dot_dot_segments_however_spelled(string path) => Assert.True(RequestGuardMiddleware.HasDotDotSegment(path));

    [Theory]
    [InlineData("/")]
    [InlineData("/hello.txt")]
    [InlineData("/a..b/c")]
    [InlineData("/...")]
    [InlineData("/files/..hidden")]
    [InlineData("/%2e/x")]
    public void Leaves_ordinary_paths_alone(string path) => Assert.False(RequestGuardMiddleware.HasDotDotSegment(path));

    [Theory]
    [InlineData("/.porter/oob-work")]
    [InlineData("/.porter")]
    [InlineData("/.PORTER/oob-work")]
    [InlineData("//.porter/oob-work")]
    [InlineData("/%2Eporter/oob-work")]
    [InlineData("/%2eporter%2foob-work")]
    [InlineData("/%252Eporter/oob-work")]
    [InlineData("/%2E%70orter/oob-work")]
    [InlineData("\\.porter\\oob-work")]
    [InlineData("/ .porter /x")]
    public void Finds_porters_internal_paths_however_spelled(string path) => Assert.True(RequestGuardMiddleware.IsInternalPath(path));

    [Theory]
    [InlineData("/")]
    [InlineData("/porter/oob-work")]
    [InlineData("/a/.porter/oob-work")]
    [InlineData("/.porterx/oob-work")]
    [InlineData("/.well-known/x")]
    public void Leaves_paths_that_merely_mention_porter_alone(string path) => Assert.False(RequestGuardMiddleware.IsInternalPath(path));

    private static RequestGuardMiddleware.Refused RefusalOf(string method, string rawTarget)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = method;
        var mark = rawTarget.IndexOf('?');
        context.Request.Path = Uri.UnescapeDataString(mark < 0 ? rawTarget : rawTarget[..mark]);
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget = rawTarget;
        return RequestGuardMiddleware.Refusal(context);
    }

    [Theory]
    [InlineData("CONNECT", "/", RequestGuardMiddleware.Refused.MethodNotSupported)]
    [InlineData("GET", "/page#fragment", RequestGuardMiddleware.Refused.BadPath)]
    [InlineData("GET", "/page?a=1#fragment", RequestGuardMiddleware.Refused.BadPath)]
    [InlineData("POST", "/%2Eporter/oob-work", RequestGuardMiddleware.Refused.InternalPath)]
    [InlineData("GET", "/%2e%2e/etc/passwd", RequestGuardMiddleware.Refused.BadPath)]
    [InlineData("GET", "/a%2Fb?q=%2F", RequestGuardMiddleware.Refused.No)]
    [InlineData("GET", "/hello.txt", RequestGuardMiddleware.Refused.No)]
    public void Refuses_what_must_not_reach_an_app(string method, string target, RequestGuardMiddleware.Refused expected) =>
        Assert.Equal(expected, RefusalOf(method, target));
}
