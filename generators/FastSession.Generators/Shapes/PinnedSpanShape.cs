using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// <c>Span&lt;T&gt;</c> / <c>ReadOnlySpan&lt;T&gt;</c> of an unmanaged T: pinned for the call and passed as
    /// <c>T*</c> (NULL for an empty span, as <c>fixed</c> gives). The length is the caller's to pass: C
    /// signatures differ on where it goes and what type it has.
    /// </summary>
    internal sealed class PinnedSpanShape : ParameterShape
    {
        public static readonly PinnedSpanShape Instance = new();

        public override void WriteOpen(SourceWriter writer, ParameterSpec parameter)
            => writer.OpenBlock("fixed (" + parameter.Type.NativeName + " " + PinName(parameter) + " = " + parameter.Name + ")");

        public override string Argument(ParameterSpec parameter) => PinName(parameter);

        public override void WriteClose(SourceWriter writer, ParameterSpec parameter) => writer.CloseBlock();

        private static string PinName(ParameterSpec parameter) => "__" + parameter.LocalName + "_pin";
    }
}
