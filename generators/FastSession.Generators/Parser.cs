using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using FastSession.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FastSession.Generators
{
    /// <summary>
    /// Turns symbols into equatable models at once. Nothing returned from here holds an
    /// <see cref="ISymbol"/>, a <see cref="SyntaxNode"/>, a <see cref="Compilation"/> or a <see cref="Location"/>.
    /// </summary>
    internal static class Parser
    {
        public const string AttributeNamespace = "FastSession.Interop";
        public const string ShimLibraryAttributeName = AttributeNamespace + ".ShimLibraryAttribute";
        public const string ShimImportAttributeName = AttributeNamespace + ".ShimImportAttribute";
        public const string ShimHandleOwnerAttributeName = AttributeNamespace + ".ShimHandleOwnerAttribute";
        public const string BorrowedViewAttributeName = AttributeNamespace + ".BorrowedViewAttribute";
        public const string OwnedHandleAttributeName = AttributeNamespace + ".OwnedHandleAttribute";

        /// <summary>Verbs (PascalCase words of an entry point) of calls that may lock, block or call back (FSG0006).</summary>
        private static readonly ImmutableArray<string> s_lockingWords = ImmutableArray.Create(
            "Get1", "Free", "UpRef", "New", "Create", "Set", "Handshake", "Read", "Write", "Shutdown", "Clear");

        private static readonly SymbolDisplayFormat s_typeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        // ---- [ShimImport] methods ------------------------------------------------------------------

        public static ImportMethodResult ParseImportMethod(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var method = (IMethodSymbol)context.TargetSymbol;
            var syntax = (MethodDeclarationSyntax)context.TargetNode;
            var diagnostics = new List<DiagnosticInfo>();
            string display = method.ContainingType.Name + "." + method.Name;
            LocationInfo? methodLocation = LocationInfo.From(syntax.Identifier);

            AttributeData attribute = context.Attributes[0];
            string entryPoint = ConstructorString(attribute, 0);
            bool trivial = NamedBool(attribute, "Trivial");

            if (!method.IsStatic
                || !syntax.Modifiers.Any(SyntaxKind.PartialKeyword)
                || syntax.Body is not null
                || syntax.ExpressionBody is not null
                || method.IsGenericMethod
                || method.ReturnsByRef
                || method.ReturnsByRefReadonly)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ImportMethodNotStaticPartial, methodLocation, display));
            }

            CheckPartialChain(syntax.Parent, diagnostics);

            string libraryName = string.Empty;
            AttributeData? library = FindAttribute(method.ContainingType, ShimLibraryAttributeName);
            if (library is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.ImportOutsideLibrary, methodLocation, display, method.ContainingType.Name));
            }
            else
            {
                libraryName = ConstructorString(library, 0);
                if (libraryName.Length == 0)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.EmptyName, AttributeLocation(library) ?? methodLocation, "library name", method.ContainingType.Name));
                }
            }

            if (string.IsNullOrWhiteSpace(entryPoint))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.EmptyName, AttributeLocation(attribute) ?? methodLocation, "entry point", display));
            }

            cancellationToken.ThrowIfCancellationRequested();

            // Return type.
            ShimTypeSpec? returnType = ClassifyReturn(method, syntax, display, diagnostics);

            // Parameters.
            var parameters = new List<ParameterSpec>(method.Parameters.Length);
            for (int i = 0; i < method.Parameters.Length; i++)
            {
                IParameterSymbol parameter = method.Parameters[i];
                LocationInfo? parameterLocation = i < syntax.ParameterList.Parameters.Count
                    ? LocationInfo.From(syntax.ParameterList.Parameters[i])
                    : methodLocation;
                ShimTypeSpec? type = ClassifyParameter(parameter, parameterLocation, display, diagnostics);
                if (type is not null)
                {
                    string localName = parameter.Name;
                    string name = SyntaxFacts.GetKeywordKind(localName) != SyntaxKind.None ? "@" + localName : localName;
                    string modifiers = parameter.RefKind switch
                    {
                        RefKind.Out => "out ",
                        RefKind.Ref => "ref ",
                        _ => parameter.ScopedKind == ScopedKind.ScopedValue ? "scoped " : string.Empty,
                    };
                    parameters.Add(new ParameterSpec(name, localName, modifiers, type));
                }
            }

            // A pinned span passes only its address: C needs its length in a later integer parameter (FSG0016).
            for (int i = 0; i < parameters.Count; i++)
            {
                if (parameters[i].Type.Kind == ShimTypeKind.PinnedSpan && !HasLaterInteger(parameters, i))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.SpanWithoutLength,
                        i < syntax.ParameterList.Parameters.Count ? LocationInfo.From(syntax.ParameterList.Parameters[i]) : methodLocation,
                        parameters[i].LocalName,
                        display));
                }
            }

            // A borrowed view is bound to its owner: the owner must be the first argument (FSG0008).
            if (returnType is { Kind: ShimTypeKind.BorrowedView }
                && method.ReturnType is INamedTypeSymbol viewType
                && FindAttribute(viewType, BorrowedViewAttributeName) is { } viewAttribute
                && ConstructorType(viewAttribute, 0) is { } ownerType)
            {
                bool ownerFirst = method.Parameters.Length > 0
                    && SymbolEqualityComparer.Default.Equals(method.Parameters[0].Type.WithNullableAnnotation(NullableAnnotation.None), ownerType);
                if (!ownerFirst)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.ViewReturnWithoutOwner,
                        LocationInfo.From(syntax.ReturnType),
                        display,
                        viewType.Name,
                        ownerType.Name));
                }
            }

            // Binding libssl directly (not through a FastSessionNative_ export) makes this possible: a macro has no symbol.
            if (OpenSslMacros.TryGetValue(entryPoint, out string? function))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.EntryPointIsMacro, AttributeLocation(attribute) ?? methodLocation, display, entryPoint, function));
            }

            if (trivial && FindLockingWord(entryPoint) is { } word)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.TrivialCallTakesLock, AttributeLocation(attribute) ?? methodLocation, display, entryPoint, word));
            }

            // Only errors stop the wrapper: a warning (FSG0016) may be suppressed where a contract makes the call
            // correct, and the method must then still get its body.
            if (diagnostics.Exists(static d => d.Descriptor.DefaultSeverity == DiagnosticSeverity.Error) || returnType is null)
            {
                return new ImportMethodResult(null, null, diagnostics.ToEquatableArray());
            }

            var spec = new ImportMethodSpec(
                CreateTypeSpec(method.ContainingType),
                AccessibilityModifiers(syntax.Modifiers),
                method.Name,
                returnType,
                parameters.ToEquatableArray(),
                libraryName,
                entryPoint,
                trivial);
            var key = new EntryPointKey(libraryName, entryPoint, spec.NativeSignature, trivial, display, methodLocation);
            return new ImportMethodResult(spec, key, diagnostics.ToEquatableArray());
        }

        /// <summary>Groups valid imports by declaring type, in a stable order: one <see cref="LibraryClassSpec"/> per file.</summary>
        public static ImmutableArray<LibraryClassSpec> GroupByType(ImmutableArray<ImportMethodSpec> methods)
        {
            return methods
                .GroupBy(static m => m.ContainingType)
                .Select(static g => new LibraryClassSpec(g.Key, g.ToEquatableArray()))
                .OrderBy(static c => c.Type.HintName, StringComparer.Ordinal)
                .ToImmutableArray();
        }

        /// <summary>
        /// FSG0007: one entry point of one library imported with two different native signatures (or
        /// Trivial settings). The same entry point imported twice with one signature is allowed: a
        /// getter usually exists for both the borrowed view and the owned handle of one C type.
        /// </summary>
        public static ImmutableArray<DiagnosticInfo> FindDuplicateEntryPoints(ImmutableArray<EntryPointKey> keys)
        {
            var first = new Dictionary<(string, string), EntryPointKey>();
            ImmutableArray<DiagnosticInfo>.Builder? result = null;
            foreach (EntryPointKey key in keys.OrderBy(static k => k.Location?.FilePath, StringComparer.Ordinal)
                                              .ThenBy(static k => k.Location?.TextSpan.Start ?? 0))
            {
                if (!first.TryGetValue((key.LibraryName, key.EntryPoint), out EntryPointKey? earlier))
                {
                    first.Add((key.LibraryName, key.EntryPoint), key);
                    continue;
                }

                if (earlier.NativeSignature != key.NativeSignature || earlier.Trivial != key.Trivial)
                {
                    result ??= ImmutableArray.CreateBuilder<DiagnosticInfo>();
                    result.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateEntryPoint,
                        key.Location,
                        key.EntryPoint,
                        key.LibraryName,
                        earlier.MethodDisplayName,
                        Describe(key),
                        Describe(earlier)));
                }
            }

            return result?.ToImmutable() ?? ImmutableArray<DiagnosticInfo>.Empty;

            static string Describe(EntryPointKey key) => key.NativeSignature + (key.Trivial ? " trivial" : string.Empty);
        }

        // ---- [BorrowedView] structs ----------------------------------------------------------------

        public static TypeResult<BorrowedViewSpec> ParseBorrowedView(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var syntax = (TypeDeclarationSyntax)context.TargetNode;
            AttributeData attribute = context.Attributes[0];
            LocationInfo? typeLocation = LocationInfo.From(syntax.Identifier);
            LocationInfo? attributeLocation = AttributeLocation(attribute) ?? typeLocation;
            var diagnostics = new List<DiagnosticInfo>();

            CheckPartialChain(syntax, diagnostics);
            if (!type.IsRefLikeType)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.NotABorrowedView, typeLocation, type.Name,
                    "a [BorrowedView] type must be declared 'readonly ref partial struct' so it cannot outlive its owner"));
            }

            ITypeSymbol? owner = ConstructorType(attribute, 0);
            string libraryName = ConstructorString(attribute, 1);
            string? upRef = NamedString(attribute, "UpRefEntryPoint");
            ITypeSymbol? owned = NamedType(attribute, "OwnedType");

            if (owner is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.HandleOwnerIncomplete, attributeLocation, "(none)",
                    "the owner type of borrowed view '" + type.Name + "' is missing"));
            }
            else
            {
                if (FindAttribute(owner, ShimHandleOwnerAttributeName) is null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.HandleOwnerIncomplete, attributeLocation, owner.Name,
                        "it is named as owner by borrowed view '" + type.Name + "' but is not marked [ShimHandleOwner]"));
                }

                if (!HasAccessibleProperty(owner, "Epoch", SpecialType.System_UInt64))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.HandleOwnerIncomplete, attributeLocation, owner.Name,
                        "it is named as owner by borrowed view '" + type.Name + "' and must declare 'internal ulong Epoch { get; }'"));
                }

                // The reader lease every view access takes (README: "The safety rule").
                if (!HasAccessibleMethod(owner, "EnterReader", SpecialType.System_Int32, parameter: null)
                    || !HasAccessibleMethod(owner, "ExitReader", SpecialType.System_Void, parameter: SpecialType.System_Int32))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.HandleOwnerIncomplete, attributeLocation, owner.Name,
                        "it is named as owner by borrowed view '" + type.Name + "' and must declare 'internal int EnterReader()' and 'internal void ExitReader(int lease)'"));
                }
            }

            if (libraryName.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmptyName, attributeLocation, "library name", type.Name));
            }

            if (upRef is not null && upRef.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmptyName, attributeLocation, "UpRefEntryPoint", type.Name));
            }

            if ((upRef is null) != (owned is null))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.ToOwnedMisconfigured, attributeLocation, type.Name,
                    "UpRefEntryPoint and OwnedType must be given together (ToOwned needs both)"));
            }
            else if (owned is not null && FindAttribute(owned, OwnedHandleAttributeName) is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.ToOwnedMisconfigured, attributeLocation, type.Name,
                    "OwnedType '" + owned.Name + "' is not marked [OwnedHandle]"));
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (diagnostics.Count > 0)
            {
                return new TypeResult<BorrowedViewSpec>(null, diagnostics.ToEquatableArray());
            }

            var spec = new BorrowedViewSpec(
                CreateTypeSpec(type),
                owner!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                libraryName,
                upRef,
                owned?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat));
            return new TypeResult<BorrowedViewSpec>(spec, EquatableArray<DiagnosticInfo>.Empty);
        }

        // ---- [OwnedHandle] structs -----------------------------------------------------------------

        public static TypeResult<OwnedHandleSpec> ParseOwnedHandle(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var syntax = (TypeDeclarationSyntax)context.TargetNode;
            AttributeData attribute = context.Attributes[0];
            LocationInfo? attributeLocation = AttributeLocation(attribute) ?? LocationInfo.From(syntax.Identifier);
            var diagnostics = new List<DiagnosticInfo>();

            CheckPartialChain(syntax, diagnostics);

            string libraryName = ConstructorString(attribute, 0);
            string free = ConstructorString(attribute, 1);
            string? upRef = NamedString(attribute, "UpRefEntryPoint");

            if (libraryName.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmptyName, attributeLocation, "library name", type.Name));
            }

            if (string.IsNullOrWhiteSpace(free))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OwnedHandleWithoutFree, attributeLocation, type.Name));
            }

            if (upRef is not null && upRef.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmptyName, attributeLocation, "UpRefEntryPoint", type.Name));
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (diagnostics.Count > 0)
            {
                return new TypeResult<OwnedHandleSpec>(null, diagnostics.ToEquatableArray());
            }

            var spec = new OwnedHandleSpec(CreateTypeSpec(type), libraryName, free, upRef);
            return new TypeResult<OwnedHandleSpec>(spec, EquatableArray<DiagnosticInfo>.Empty);
        }

        // ---- [ShimHandleOwner] classes (diagnostics only: the owner is hand-written) ---------------

        public static EquatableArray<DiagnosticInfo> ParseHandleOwner(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var syntax = (TypeDeclarationSyntax)context.TargetNode;
            _ = cancellationToken;
            if (HasAccessibleProperty(type, "NativeHandle", SpecialType.System_IntPtr))
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            return new[]
            {
                DiagnosticInfo.Create(
                    DiagnosticDescriptors.HandleOwnerIncomplete,
                    LocationInfo.From(syntax.Identifier),
                    type.Name,
                    "a [ShimHandleOwner] must declare 'internal nint NativeHandle { get; }'"),
            }.ToEquatableArray();
        }

        private static bool HasLaterInteger(List<ParameterSpec> parameters, int index)
        {
            for (int i = index + 1; i < parameters.Count; i++)
            {
                if (parameters[i].Type.Kind == ShimTypeKind.Primitive && parameters[i].Type.ManagedName is "int" or "uint" or "long" or "ulong" or "nint" or "nuint")
                {
                    return true;
                }
            }

            return false;
        }

        // ---- Type classification -------------------------------------------------------------------

        private static ShimTypeSpec? ClassifyReturn(IMethodSymbol method, MethodDeclarationSyntax syntax, string display, List<DiagnosticInfo> diagnostics)
        {
            ITypeSymbol type = method.ReturnType;
            LocationInfo? location = LocationInfo.From(syntax.ReturnType);
            if (type.SpecialType == SpecialType.System_Void)
            {
                return new ShimTypeSpec(ShimTypeKind.Void, "void", "void");
            }

            if (SpanElement(type) is not null || type.SpecialType == SpecialType.System_String)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ParameterOnlyShape, location, display, type.ToDisplayString()));
                return null;
            }

            bool isView = FindAttribute(type, BorrowedViewAttributeName) is not null;
            if (isView != type.IsRefLikeType)
            {
                string reason = isView
                    ? "it is marked [BorrowedView] but is not a ref struct, so '" + display + "' cannot return it as a borrowed view"
                    : "'" + display + "' returns a ref struct, which the generator can only build for a [BorrowedView]";
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotABorrowedView, location, type.Name, reason));
                return null;
            }

            ShimTypeSpec? spec = Classify(type);
            if (spec is null || spec.Kind == ShimTypeKind.HandleOwner)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.NotBlittable, location, "The return", display, type.ToDisplayString()));
                return null;
            }

            return spec;
        }

        private static ShimTypeSpec? ClassifyParameter(IParameterSymbol parameter, LocationInfo? location, string display, List<DiagnosticInfo> diagnostics)
        {
            string typeDisplay = (parameter.RefKind == RefKind.None ? string.Empty : parameter.RefKind.ToString().ToLowerInvariant() + " ") + parameter.Type.ToDisplayString();
            if (SpanElement(parameter.Type) is { } element && !IsPinnable(element))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.SpanElementNotPinnable, location, parameter.Name, display, element.ToDisplayString()));
                return null;
            }

            ShimTypeSpec? spec = parameter.IsParams || parameter.RefKind is RefKind.In or RefKind.RefReadOnlyParameter ? null : Classify(parameter.Type);
            if (spec is not null && parameter.RefKind is RefKind.Out or RefKind.Ref)
            {
                // out/ref: a single unmanaged value the generator pins and passes as T*. Handles cross by value only.
                if (spec.Kind is ShimTypeKind.HandleOwner or ShimTypeKind.BorrowedView or ShimTypeKind.OwnedHandle)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.HandleByReference, location, parameter.Name, display, parameter.Type.ToDisplayString(), parameter.RefKind.ToString().ToLowerInvariant()));
                    return null;
                }

                spec = spec.Kind is ShimTypeKind.Primitive or ShimTypeKind.Pointer
                    ? new ShimTypeSpec(ShimTypeKind.PinnedRef, spec.ManagedName, spec.ManagedName + "*")
                    : null;
            }
            else if (spec is null && parameter.RefKind is RefKind.Out or RefKind.Ref && IsPinnable(parameter.Type) && parameter.Type is INamedTypeSymbol { TypeKind: TypeKind.Struct })
            {
                string name = parameter.Type.ToDisplayString(s_typeFormat);
                spec = new ShimTypeSpec(ShimTypeKind.PinnedRef, name, name + "*");
            }

            if (spec is null || spec.Kind == ShimTypeKind.Void)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.NotBlittable,
                    location,
                    "Parameter '" + parameter.Name + "'",
                    display,
                    typeDisplay));
                return null;
            }

            return spec;
        }

        /// <summary>T of System.Span&lt;T&gt; or System.ReadOnlySpan&lt;T&gt;, else null.</summary>
        private static ITypeSymbol? SpanElement(ITypeSymbol type)
            => type is INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } span
                && span.ContainingNamespace?.ToDisplayString() == "System"
                && span.Name is "Span" or "ReadOnlySpan"
                ? span.TypeArguments[0]
                : null;

        /// <summary>An unmanaged, non-pointer type whose address C may take.</summary>
        private static bool IsPinnable(ITypeSymbol type) => type.IsUnmanagedType && type.TypeKind != TypeKind.Pointer && type.TypeKind != TypeKind.FunctionPointer;

        /// <summary>Null when the type cannot cross the shim.</summary>
        private static ShimTypeSpec? Classify(ITypeSymbol type)
        {
            string? primitive = type.SpecialType switch
            {
                SpecialType.System_Byte => "byte",
                SpecialType.System_SByte => "sbyte",
                SpecialType.System_Int16 => "short",
                SpecialType.System_UInt16 => "ushort",
                SpecialType.System_Int32 => "int",
                SpecialType.System_UInt32 => "uint",
                SpecialType.System_Int64 => "long",
                SpecialType.System_UInt64 => "ulong",
                SpecialType.System_IntPtr => "nint",
                SpecialType.System_UIntPtr => "nuint",
                SpecialType.System_Single => "float",
                SpecialType.System_Double => "double",
                SpecialType.System_Void => "void",
                _ => null,
            };
            if (primitive is not null)
            {
                return new ShimTypeSpec(primitive == "void" ? ShimTypeKind.Void : ShimTypeKind.Primitive, primitive, primitive);
            }

            if (type is IPointerTypeSymbol pointer)
            {
                if (pointer.PointedAtType.SpecialType != SpecialType.System_Void && !pointer.PointedAtType.IsUnmanagedType)
                {
                    return null;
                }

                string name = type.ToDisplayString(s_typeFormat);
                return new ShimTypeSpec(ShimTypeKind.Pointer, name, name);
            }

            if (type.SpecialType == SpecialType.System_String)
            {
                return new ShimTypeSpec(
                    ShimTypeKind.Utf8String, type.NullableAnnotation == NullableAnnotation.Annotated ? "string?" : "string", "byte*");
            }

            if (SpanElement(type) is { } element)
            {
                if (!IsPinnable(element))
                {
                    return null;
                }

                string elementName = element.ToDisplayString(s_typeFormat);
                return new ShimTypeSpec(ShimTypeKind.PinnedSpan, type.ToDisplayString(s_typeFormat), elementName + "*");
            }

            if (type is not INamedTypeSymbol named || named.IsGenericType)
            {
                return null;
            }

            string managedName = type.ToDisplayString(s_typeFormat);
            if (named.TypeKind == TypeKind.Class && FindAttribute(named, ShimHandleOwnerAttributeName) is not null)
            {
                return new ShimTypeSpec(ShimTypeKind.HandleOwner, managedName, "nint");
            }

            if (named.TypeKind == TypeKind.Struct && named.IsRefLikeType && FindAttribute(named, BorrowedViewAttributeName) is not null)
            {
                return new ShimTypeSpec(ShimTypeKind.BorrowedView, managedName, "nint");
            }

            if (named.TypeKind == TypeKind.Struct && !named.IsRefLikeType && FindAttribute(named, OwnedHandleAttributeName) is not null)
            {
                return new ShimTypeSpec(ShimTypeKind.OwnedHandle, managedName, "nint");
            }

            return null;
        }

        /// <summary>
        /// The first locking verb among the PascalCase words of the entry point (after the last '_'),
        /// or null. A word right after "Get"/"Get0" names what is read, not what is done
        /// (FastSessionNative_SslGetShutdown reads SSL_get_shutdown and may be trivial).
        /// </summary>
        /// <summary>
        /// OpenSSL 3 names that are macros over another function (include/openssl/ssl.h.in), with what to import
        /// instead (FSG0017). The ones a binding of the session, certificate and context getters is likely to reach for.
        /// </summary>
        private static readonly System.Collections.Generic.Dictionary<string, string> OpenSslMacros = new(StringComparer.Ordinal)
        {
            ["SSL_get0_session"] = "SSL_get_session",
            ["SSL_get_peer_certificate"] = "SSL_get1_peer_certificate",
            ["SSL_CTX_sess_number"] = "SSL_CTX_ctrl",
            ["SSL_CTX_set_session_cache_mode"] = "SSL_CTX_ctrl",
            ["SSL_CTX_get_session_cache_mode"] = "SSL_CTX_ctrl",
            ["SSL_CTX_sess_set_cache_size"] = "SSL_CTX_ctrl",
            ["SSL_CTX_set_min_proto_version"] = "SSL_CTX_ctrl",
            ["SSL_CTX_set_max_proto_version"] = "SSL_CTX_ctrl",
            ["SSL_CTX_set_mode"] = "SSL_CTX_ctrl",
            ["SSL_set_tlsext_host_name"] = "SSL_ctrl",
            ["SSL_CTX_set_tlsext_ticket_key_cb"] = "SSL_CTX_set_tlsext_ticket_key_evp_cb",
        };

        internal static string? FindLockingWord(string entryPoint)
        {
            int underscore = entryPoint.LastIndexOf('_');
            string name = underscore >= 0 ? entryPoint.Substring(underscore + 1) : entryPoint;
            var words = new List<string>();
            var current = new StringBuilder();
            foreach (char c in name)
            {
                if (char.IsUpper(c) && current.Length > 0)
                {
                    words.Add(current.ToString());
                    current.Clear();
                }

                current.Append(c);
            }

            if (current.Length > 0)
            {
                words.Add(current.ToString());
            }

            for (int i = 0; i < words.Count; i++)
            {
                if (!s_lockingWords.Contains(words[i]))
                {
                    continue;
                }

                bool readsIt = i > 0 && (words[i - 1] == "Get" || words[i - 1] == "Get0");
                if (!readsIt)
                {
                    return words[i];
                }
            }

            return null;
        }

        // ---- Helpers -------------------------------------------------------------------------------

        private static void CheckPartialChain(SyntaxNode? node, List<DiagnosticInfo> diagnostics)
        {
            for (; node is not null; node = node.Parent)
            {
                if (node is TypeDeclarationSyntax type && !type.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.TypeNotPartial, LocationInfo.From(type.Identifier), type.Identifier.ValueText));
                    return;
                }
            }
        }

        private static TypeSpec CreateTypeSpec(INamedTypeSymbol type)
        {
            var chain = new List<TypeDeclarationSpec>();
            var hintParts = new List<string>();
            for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
            {
                string modifiers = string.Empty;
                if (current.IsStatic)
                {
                    modifiers += "static ";
                }

                if (current.TypeKind == TypeKind.Struct && current.IsReadOnly)
                {
                    modifiers += "readonly ";
                }

                if (current.IsRefLikeType)
                {
                    modifiers += "ref ";
                }

                string keyword = current.IsRecord
                    ? (current.TypeKind == TypeKind.Struct ? "record struct" : "record")
                    : current.TypeKind switch
                    {
                        TypeKind.Struct => "struct",
                        TypeKind.Interface => "interface",
                        _ => "class",
                    };
                string name = current.TypeParameters.Length == 0
                    ? current.Name
                    : current.Name + "<" + string.Join(", ", current.TypeParameters.Select(static p => p.Name)) + ">";
                chain.Insert(0, new TypeDeclarationSpec(modifiers, keyword, name));
                hintParts.Insert(0, current.TypeParameters.Length == 0 ? current.Name : current.Name + "`" + current.TypeParameters.Length);
            }

            string ns = type.ContainingNamespace is null || type.ContainingNamespace.IsGlobalNamespace
                ? string.Empty
                : type.ContainingNamespace.ToDisplayString();
            string hint = (ns.Length == 0 ? string.Empty : ns + ".") + string.Join(".", hintParts) + ".g.cs";
            return new TypeSpec(
                ns,
                chain.ToEquatableArray(),
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                type.Name,
                hint);
        }

        private static string AccessibilityModifiers(SyntaxTokenList modifiers)
        {
            var builder = new StringBuilder();
            foreach (SyntaxToken token in modifiers)
            {
                switch (token.Kind())
                {
                    case SyntaxKind.PublicKeyword:
                    case SyntaxKind.InternalKeyword:
                    case SyntaxKind.PrivateKeyword:
                    case SyntaxKind.ProtectedKeyword:
                    case SyntaxKind.NewKeyword:
                        builder.Append(token.ValueText).Append(' ');
                        break;
                }
            }

            return builder.ToString();
        }

        private static bool HasAccessibleProperty(ITypeSymbol type, string name, SpecialType propertyType)
        {
            for (ITypeSymbol? current = type; current is not null; current = current.BaseType)
            {
                foreach (ISymbol member in current.GetMembers(name))
                {
                    if (member is IPropertySymbol { IsStatic: false, GetMethod: { } getter } property
                        && property.Type.SpecialType == propertyType
                        && IsAccessibleFromAssembly(property.DeclaredAccessibility)
                        && IsAccessibleFromAssembly(getter.DeclaredAccessibility))
                    {
                        return true;
                    }
                }
            }

            return false;

            static bool IsAccessibleFromAssembly(Accessibility accessibility)
                => accessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal;
        }

        private static bool HasAccessibleMethod(ITypeSymbol type, string name, SpecialType returnType, SpecialType? parameter)
        {
            for (ITypeSymbol? current = type; current is not null; current = current.BaseType)
            {
                foreach (ISymbol member in current.GetMembers(name))
                {
                    if (member is IMethodSymbol { IsStatic: false, IsGenericMethod: false } method
                        && method.ReturnType.SpecialType == returnType
                        && method.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal
                        && (parameter is null
                            ? method.Parameters.Length == 0
                            : method.Parameters.Length == 1 && method.Parameters[0].RefKind == RefKind.None && method.Parameters[0].Type.SpecialType == parameter))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static AttributeData? FindAttribute(ITypeSymbol type, string metadataName)
        {
            foreach (AttributeData attribute in type.GetAttributes())
            {
                if (attribute.AttributeClass is { } attributeClass && IsNamed(attributeClass, metadataName))
                {
                    return attribute;
                }
            }

            return null;
        }

        private static bool IsNamed(INamedTypeSymbol type, string metadataName)
        {
            int dot = metadataName.LastIndexOf('.');
            return type.Name == metadataName.Substring(dot + 1)
                && type.ContainingType is null
                && type.ContainingNamespace?.ToDisplayString() == metadataName.Substring(0, dot);
        }

        private static LocationInfo? AttributeLocation(AttributeData attribute)
            => LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax());

        private static string ConstructorString(AttributeData attribute, int index)
            => attribute.ConstructorArguments.Length > index && attribute.ConstructorArguments[index].Value is string value
                ? value
                : string.Empty;

        private static ITypeSymbol? ConstructorType(AttributeData attribute, int index)
            => attribute.ConstructorArguments.Length > index ? attribute.ConstructorArguments[index].Value as ITypeSymbol : null;

        private static bool NamedBool(AttributeData attribute, string name)
        {
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                if (argument.Key == name && argument.Value.Value is bool value)
                {
                    return value;
                }
            }

            return false;
        }

        private static string? NamedString(AttributeData attribute, string name)
        {
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                if (argument.Key == name)
                {
                    return argument.Value.Value as string;
                }
            }

            return null;
        }

        private static ITypeSymbol? NamedType(AttributeData attribute, string name)
        {
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                if (argument.Key == name)
                {
                    return argument.Value.Value as ITypeSymbol;
                }
            }

            return null;
        }
    }
}
