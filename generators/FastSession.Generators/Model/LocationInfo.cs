using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FastSession.Generators.Model
{
    /// <summary>
    /// A source location as plain data (file path, span, line span), so a model never holds a
    /// <see cref="Location"/> and with it a syntax tree of an old compilation.
    /// </summary>
    internal sealed record LocationInfo(string FilePath, TextSpan TextSpan, LinePositionSpan LineSpan)
    {
        public Location ToLocation() => Location.Create(FilePath, TextSpan, LineSpan);

        public static LocationInfo? From(Location? location)
        {
            if (location is null || location.SourceTree is null)
            {
                return null;
            }

            return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
        }

        public static LocationInfo? From(SyntaxNode? node) => From(node?.GetLocation());

        public static LocationInfo? From(SyntaxToken token) => From(token.GetLocation());
    }

    /// <summary>A diagnostic as data: it flows through the pipeline beside the models.</summary>
    internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, EquatableArray<string> MessageArgs)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] messageArgs)
            => new(descriptor, location, new EquatableArray<string>(messageArgs));

        public Diagnostic ToDiagnostic()
        {
            var args = new object[MessageArgs.Count];
            for (int i = 0; i < args.Length; i++)
            {
                args[i] = MessageArgs[i];
            }

            return Diagnostic.Create(Descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, args);
        }
    }
}
