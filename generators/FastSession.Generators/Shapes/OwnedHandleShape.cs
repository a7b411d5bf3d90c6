using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// An <c>[OwnedHandle]</c> struct (a get1 pointer). As a parameter it is leased from its pooled slot, which
    /// holds off its Dispose (on any copy, any thread) until the finally block. As a return, the native
    /// reference the call handed over is wrapped in a pooled slot; NULL gives <c>default</c>.
    /// </summary>
    internal sealed class OwnedHandleShape : ParameterShape
    {
        public static readonly OwnedHandleShape Instance = new();

        public override void WriteOpen(SourceWriter writer, ParameterSpec parameter)
        {
            writer.WriteLine(parameter.Type.ManagedName + ".Lease " + BorrowedViewShape.LeaseName(parameter) + " = " + parameter.Name + ".Enter();");
            OpenTry(writer);
        }

        public override string Argument(ParameterSpec parameter) => BorrowedViewShape.LeaseName(parameter) + ".Pointer";

        public override void WriteClose(SourceWriter writer, ParameterSpec parameter)
            => CloseTry(writer, BorrowedViewShape.LeaseName(parameter) + ".Dispose();");

        public override void WriteReturn(SourceWriter writer, ImportMethodSpec method)
            => writer.WriteLine("return " + method.ReturnType.ManagedName + ".FromOwnedPointer(__result);");
    }
}
