using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Internal;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Primitives;

namespace Porter.Hosting.Edge;

/// <summary>
/// The files of one app's public/ folder as the static-file step serves them. Symbolic links are followed only when
/// their target, fully resolved (every link on the way, to any depth), is a regular file inside public/ and no part of
/// its path there starts with a dot; it is then served with the target's content, length and validators (a link's own
/// length would truncate the body, abort the connection and give two links one ETag). A link that leaves public/, a
/// loop, or a dangling link is no file at all: the request goes on to the app, and nothing outside public/ is ever
/// served. (nginx follows every link by default; Porter keeps the README's promise instead. Shared folders that live
/// elsewhere, such as uploads, can be mounted under public/.)
/// </summary>
public sealed class PublicFolderFiles : IFileProvider
{
    // Linux gives up after 40 links in one path (ELOOP); so does this.
    private const int MaxLinks = 40;

    private readonly string _root;
    private readonly PhysicalFileProvider _files;

    public PublicFolderFiles(string folder)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        _files = new PhysicalFileProvider(_root);
    }

    public IFileInfo GetFileInfo(string subpath)
    {
        var file = _files.GetFileInfo(subpath);
        if (!file.Exists || file.IsDirectory || file.PhysicalPath is not { } path || !path.StartsWith(_root, StringComparison.Ordinal))
            return file;
        // The common case: no link between public/ and the file (one readlink per segment, usually one or two).
        if (!HasLink(_root, path[_root.Length..])) return file;

        // public/ itself may sit behind links (a release folder); resolve it now, so a deploy that moves it is followed.
        if (RealPath(_root) is not { } root || RealPath(path) is not { } target) return new NotFoundFileInfo(subpath);
        var inside = target.Length > root.Length + 1 && target.StartsWith(root, StringComparison.Ordinal) && target[root.Length] == '/';
        if (!inside || target[(root.Length + 1)..].Split('/').Any(part => part.StartsWith('.'))) return new NotFoundFileInfo(subpath);
        var resolved = new FileInfo(target);
        return resolved.Exists && !resolved.Attributes.HasFlag(FileAttributes.Directory) ? new PhysicalFileInfo(resolved) : new NotFoundFileInfo(subpath);
    }

    // No directory listings: the static-file step serves files only.
    public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

    public IChangeToken Watch(string filter) => NullChangeToken.Singleton;

    private static bool HasLink(string root, string relative)
    {
        var current = root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = current + "/" + part;
            if (new FileInfo(current).LinkTarget is not null) return true;
        }
        return false;
    }

    /// <summary>The path with every symbolic link resolved (what realpath(3) gives), or null for a loop.</summary>
    internal static string? RealPath(string path)
    {
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = "";
        for (var links = 0; pending.TryPop(out var part);)
        {
            if (part == ".") continue;
            if (part == "..")
            {
                current = current.Length == 0 ? "" : current[..current.LastIndexOf('/')];
                continue;
            }
            var next = current + "/" + part;
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) return null;
            foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(segment);
            if (target.StartsWith('/')) current = "";
        }
        return current.Length == 0 ? "/" : current;
    }
}
