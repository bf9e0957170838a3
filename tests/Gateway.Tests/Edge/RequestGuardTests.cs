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
}
