using FastSession.Generators.Helpers;
using FastSession.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FastSession.Generators
{
    /// <summary>
    /// Writes FastSession's interop: blittable DllImports, wrapper bodies that turn pointers into
    /// borrowed views and pooled owned handles, and those handle types' plumbing. See README.md.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ShimGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of every pipeline step, for incrementality tests.</summary>
        public static class StepNames
        {
            public const string ImportMethods = nameof(ImportMethods);
            public const string ImportSpecs = nameof(ImportSpecs);
            public const string AllImportSpecs = nameof(AllImportSpecs);
            public const string LibraryClasses = nameof(LibraryClasses);
            public const string EntryPoints = nameof(EntryPoints);
            public const string DuplicateEntryPoints = nameof(DuplicateEntryPoints);
            public const string BorrowedViews = nameof(BorrowedViews);
            public const string BorrowedViewSpecs = nameof(BorrowedViewSpecs);
            public const string OwnedHandles = nameof(OwnedHandles);
            public const string OwnedHandleSpecs = nameof(OwnedHandleSpecs);
            public const string HandleOwners = nameof(HandleOwners);
            public const string ImportDiagnostics = nameof(ImportDiagnostics);
            public const string BorrowedViewDiagnostics = nameof(BorrowedViewDiagnostics);
            public const string OwnedHandleDiagnostics = nameof(OwnedHandleDiagnostics);
            public const string HandleOwnerDiagnostics = nameof(HandleOwnerDiagnostics);
            public const string NeedsOwnedHandleSlot = nameof(NeedsOwnedHandleSlot);

            /// <summary>Every name above.</summary>
            public static readonly string[] All =
            {
                ImportMethods, ImportSpecs, AllImportSpecs, LibraryClasses, EntryPoints, DuplicateEntryPoints,
                BorrowedViews, BorrowedViewSpecs, OwnedHandles, OwnedHandleSpecs, HandleOwners, ImportDiagnostics,
                BorrowedViewDiagnostics, OwnedHandleDiagnostics, HandleOwnerDiagnostics,
                NeedsOwnedHandleSlot,
            };
        }

        /// <summary>Hint names of the fixed sources added after initialization.</summary>
        public static class FixedSources
        {
            public const string Attributes = "FastSession.Interop.Attributes.g.cs";
            public const string OwnedHandleSlot = "FastSession.Interop.OwnedHandleSlot.g.cs";
        }

        /// <inheritdoc/>
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            // 1. Fixed sources: the attributes, a real .cs template emitted verbatim. The slot protocol
            //    template needs unsafe code, so it is emitted (step 5) only into compilations that declare
            //    an [OwnedHandle]; a consumer that merely references the package compiles without /unsafe.
            context.RegisterPostInitializationOutput(static output =>
                output.AddSource(FixedSources.Attributes, ReadTemplate("ShimAttributes.cs")));

            // 2. Collect and transform at once into equatable models (spec + diagnostics as data).
            IncrementalValuesProvider<ImportMethodResult> imports = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    Parser.ShimImportAttributeName,
                    static (node, _) => node is MethodDeclarationSyntax,
                    static (syntax, cancellationToken) => Parser.ParseImportMethod(syntax, cancellationToken))
                .WithTrackingName(StepNames.ImportMethods);

            IncrementalValuesProvider<TypeResult<BorrowedViewSpec>> views = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    Parser.BorrowedViewAttributeName,
                    static (node, _) => node is StructDeclarationSyntax,
                    static (syntax, cancellationToken) => Parser.ParseBorrowedView(syntax, cancellationToken))
                .WithTrackingName(StepNames.BorrowedViews);

            IncrementalValuesProvider<TypeResult<OwnedHandleSpec>> ownedHandles = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    Parser.OwnedHandleAttributeName,
                    static (node, _) => node is StructDeclarationSyntax,
                    static (syntax, cancellationToken) => Parser.ParseOwnedHandle(syntax, cancellationToken))
                .WithTrackingName(StepNames.OwnedHandles);

            IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> owners = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    Parser.ShimHandleOwnerAttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (syntax, cancellationToken) => Parser.ParseHandleOwner(syntax, cancellationToken))
                .WithTrackingName(StepNames.HandleOwners);

            // 3. Group imports by declaring type: one file per [ShimLibrary] class. SelectMany compares
            //    the classes one by one, so an edit to one class re-emits only that class's file.
            IncrementalValuesProvider<LibraryClassSpec> libraryClasses = imports
                .Where(static result => result.Spec is not null)
                .Select(static (result, _) => result.Spec!)
                .WithTrackingName(StepNames.ImportSpecs)
                .Collect()
                .WithTrackingName(StepNames.AllImportSpecs)
                .SelectMany(static (specs, _) => Parser.GroupByType(specs))
                .WithTrackingName(StepNames.LibraryClasses);

            IncrementalValuesProvider<BorrowedViewSpec> viewSpecs = views
                .Where(static result => result.Spec is not null)
                .Select(static (result, _) => result.Spec!)
                .WithTrackingName(StepNames.BorrowedViewSpecs);

            IncrementalValuesProvider<OwnedHandleSpec> ownedSpecs = ownedHandles
                .Where(static result => result.Spec is not null)
                .Select(static (result, _) => result.Spec!)
                .WithTrackingName(StepNames.OwnedHandleSpecs);

            // 4. Cross-declaration check (FSG0007) over the entry points of all valid imports.
            IncrementalValuesProvider<DiagnosticInfo> duplicates = imports
                .Where(static result => result.EntryPoint is not null)
                .Select(static (result, _) => result.EntryPoint!)
                .Collect()
                .WithTrackingName(StepNames.EntryPoints)
                .SelectMany(static (keys, _) => Parser.FindDuplicateEntryPoints(keys))
                .WithTrackingName(StepNames.DuplicateEntryPoints);

            // 5. Emit.
            context.RegisterSourceOutput(libraryClasses, static (output, spec) =>
                output.AddSource(spec.Type.HintName, Emitter.EmitLibraryClass(spec)));
            context.RegisterSourceOutput(viewSpecs, static (output, spec) =>
                output.AddSource(spec.Type.HintName, Emitter.EmitBorrowedView(spec)));
            context.RegisterSourceOutput(ownedSpecs, static (output, spec) =>
                output.AddSource(spec.Type.HintName, Emitter.EmitOwnedHandle(spec)));
            IncrementalValueProvider<bool> needsSlot = ownedHandles
                .Collect()
                .Select(static (all, _) => !all.IsEmpty)
                .WithTrackingName(StepNames.NeedsOwnedHandleSlot);
            context.RegisterSourceOutput(needsSlot, static (output, needed) =>
            {
                if (needed)
                {
                    output.AddSource(FixedSources.OwnedHandleSlot, ReadTemplate("OwnedHandleSlot.cs"));
                }
            });

            // 6. Diagnostics: reported per source, each from its own transform's output (as
            //    dotnet/runtime's generators do), so no step joins unrelated pipelines.
            ReportDiagnostics(context, imports.SelectMany(static (result, _) => result.Diagnostics).WithTrackingName(StepNames.ImportDiagnostics));
            ReportDiagnostics(context, views.SelectMany(static (result, _) => result.Diagnostics).WithTrackingName(StepNames.BorrowedViewDiagnostics));
            ReportDiagnostics(context, ownedHandles.SelectMany(static (result, _) => result.Diagnostics).WithTrackingName(StepNames.OwnedHandleDiagnostics));
            ReportDiagnostics(context, owners.SelectMany(static (result, _) => result).WithTrackingName(StepNames.HandleOwnerDiagnostics));
            ReportDiagnostics(context, duplicates);
        }

        private static void ReportDiagnostics(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<DiagnosticInfo> diagnostics)
            => context.RegisterSourceOutput(diagnostics, static (output, diagnostic) => output.ReportDiagnostic(diagnostic.ToDiagnostic()));

        private static string ReadTemplate(string fileName) => Template.ReadResource(fileName);
    }
}
