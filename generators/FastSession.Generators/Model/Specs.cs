namespace FastSession.Generators.Model
{
    /// <summary>How a parameter or return crosses the shim boundary; read from the attributes on
    /// the type's symbol during the transform, so no later combine with other pipelines is needed.</summary>
    internal enum ShimTypeKind
    {
        Void,
        Primitive,
        Pointer,
        HandleOwner,
        BorrowedView,
        OwnedHandle,
        PinnedSpan,
        PinnedRef,
        Utf8String,
    }

    /// <param name="Kind">How the value crosses the boundary.</param>
    /// <param name="ManagedName">The type as written in the wrapper signature, <c>global::</c>-qualified.</param>
    /// <param name="NativeName">The type in the blittable extern (<c>nint</c> for every handle kind).</param>
    internal sealed record ShimTypeSpec(ShimTypeKind Kind, string ManagedName, string NativeName);

    /// <param name="Name">The identifier as written in source (escaped with '@' when it is a keyword).</param>
    /// <param name="LocalName">The same name without '@', for building generated local names.</param>
    /// <param name="Modifiers">"scoped ", "out ", "ref " or "".</param>
    internal sealed record ParameterSpec(string Name, string LocalName, string Modifiers, ShimTypeSpec Type);

    /// <summary>One type declaration in a nesting chain.</summary>
    /// <param name="Modifiers">Modifiers repeated on the generated part ("static ", "readonly ref ").</param>
    /// <param name="Keyword">"class", "struct", "record", "record struct" or "interface".</param>
    /// <param name="Name">The name, with its type parameter list when generic.</param>
    internal sealed record TypeDeclarationSpec(string Modifiers, string Keyword, string Name);

    /// <summary>Where generated members go: namespace, nesting chain (outermost first, the type itself last) and hint name.</summary>
    internal sealed record TypeSpec(string Namespace, EquatableArray<TypeDeclarationSpec> Chain, string FullName, string ShortName, string HintName);

    /// <summary>One <c>[ShimImport]</c> method, everything the emitter needs and nothing else (no locations).</summary>
    internal sealed record ImportMethodSpec(
        TypeSpec ContainingType,
        string Modifiers,
        string Name,
        ShimTypeSpec ReturnType,
        EquatableArray<ParameterSpec> Parameters,
        string LibraryName,
        string EntryPoint,
        bool Trivial)
    {
        /// <summary>The blittable signature, e.g. "nint(nint,int)"; equal for two methods that may share one extern.</summary>
        public string NativeSignature
        {
            get
            {
                var builder = new System.Text.StringBuilder(ReturnType.NativeName).Append('(');
                for (int i = 0; i < Parameters.Count; i++)
                {
                    builder.Append(i == 0 ? string.Empty : ",").Append(Parameters[i].Type.NativeName);
                }

                return builder.Append(')').ToString();
            }
        }
    }

    /// <summary>All imports of one <c>[ShimLibrary]</c> class: one generated file.</summary>
    internal sealed record LibraryClassSpec(TypeSpec Type, EquatableArray<ImportMethodSpec> Methods);

    /// <summary>A <c>[BorrowedView]</c> ref struct.</summary>
    internal sealed record BorrowedViewSpec(
        TypeSpec Type,
        string OwnerName,
        string LibraryName,
        string? UpRefEntryPoint,
        string? OwnedTypeName);

    /// <summary>An <c>[OwnedHandle]</c> struct.</summary>
    internal sealed record OwnedHandleSpec(
        TypeSpec Type,
        string LibraryName,
        string FreeEntryPoint,
        string? UpRefEntryPoint);

    /// <summary>What FSG0007 compares across all imports; carries the location to report at.</summary>
    internal sealed record EntryPointKey(
        string LibraryName,
        string EntryPoint,
        string NativeSignature,
        bool Trivial,
        string MethodDisplayName,
        LocationInfo? Location);

    /// <summary>Output of the <c>[ShimImport]</c> transform. <see cref="Spec"/> is null when the
    /// method has an error (it is then not emitted). Locations appear only in diagnostics and in
    /// the entry-point key, never in the spec the emitter sees.</summary>
    internal sealed record ImportMethodResult(
        ImportMethodSpec? Spec,
        EntryPointKey? EntryPoint,
        EquatableArray<DiagnosticInfo> Diagnostics);

    /// <summary>Output of a type transform: a spec to emit (null on error) and diagnostics.</summary>
    internal sealed record TypeResult<T>(T? Spec, EquatableArray<DiagnosticInfo> Diagnostics)
        where T : class;
}
