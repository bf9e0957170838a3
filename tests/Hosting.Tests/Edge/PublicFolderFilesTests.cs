using Porter.Hosting.Edge;

namespace Porter.Hosting.Tests.Edge;

public sealed class PublicFolderFilesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "porter-public-" + Guid.NewGuid().ToString("N")[..8]);

    private string Public => Path.Combine(_root, "app", "public");

    public PublicFolderFilesTests()
    {
        Directory.CreateDirectory(Path.Combine(Public, "css"));
        File.WriteAllText(Path.Combine(Public, "css", "site.css"), "body{}");
        File.WriteAllText(Path.Combine(_root, "app", "secret.txt"), "secret");
        File.WriteAllBytes(Path.Combine(Public, "big.bin"), new byte[5000]);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Serves_a_link_within_public_with_its_targets_length()
    {
        File.CreateSymbolicLink(Path.Combine(Public, "link.bin"), "big.bin");
        var file = new PublicFolderFiles(Public).GetFileInfo("/link.bin");
        Assert.True(file.Exists);
        Assert.Equal(5000, file.Length);
        Assert.Equal(Path.Combine(Public, "big.bin"), file.PhysicalPath);
    }

    [Fact]
    public void Plain_files_are_served_as_the_physical_provider_finds_them()
    {
        var file = new PublicFolderFiles(Public).GetFileInfo("/css/site.css");
        Assert.True(file.Exists);
        Assert.Equal(Path.Combine(Public, "css", "site.css"), file.PhysicalPath);
    }

    [Fact]
    public void Public_behind_a_link_keeps_working_and_follows_where_the_link_points_now()
    {
        var release = Path.Combine(_root, "current");
        Directory.CreateSymbolicLink(release, Path.Combine(_root, "app"));
        File.CreateSymbolicLink(Path.Combine(Public, "alias.css"), "css/site.css");
        var files = new PublicFolderFiles(Path.Combine(release, "public"));
        Assert.True(files.GetFileInfo("/alias.css").Exists);
        Assert.True(files.GetFileInfo("/css/site.css").Exists);
        Assert.False(files.GetFileInfo("/../secret.txt").Exists);
    }

    [Theory]
    [InlineData("out.txt", "../secret.txt")]
    [InlineData("abs.txt", "/etc/passwd")]
    [InlineData("dir", "..")]
    [InlineData("loop.txt", "loop.txt")]
    [InlineData("dangling.txt", "missing.txt")]
    public void Links_that_leave_public_loop_or_dangle_are_no_files(string name, string target)
    {
        File.CreateSymbolicLink(Path.Combine(Public, name), target);
        var files = new PublicFolderFiles(Public);
        var path = name == "dir" ? "/dir/secret.txt" : "/" + name;
        Assert.False(files.GetFileInfo(path).Exists);
    }

    [Fact]
    public void Real_path_resolves_every_link_on_the_way()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "a"), Path.Combine(_root, "app"));
        File.CreateSymbolicLink(Path.Combine(Public, "x"), "./css/../css/site.css");
        Assert.Equal(Path.Combine(Public, "css", "site.css"), PublicFolderFiles.RealPath(Path.Combine(_root, "a", "public", "x")));
        File.CreateSymbolicLink(Path.Combine(Public, "self"), "self");
        Assert.Null(PublicFolderFiles.RealPath(Path.Combine(Public, "self")));
    }
}
