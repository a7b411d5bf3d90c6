using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// A <c>[BorrowedView]</c> ref struct (a get0 pointer). As a parameter it is leased: a reader lease on its
    /// owner, epoch checked inside it, holds off every call that may free the borrowed object until the
    /// finally block (README: "The safety rule"). As a return, the owner (first parameter, FSG0008) is held
    /// under a reader lease across the call, so the pointer and the epoch the view captures are consistent.
    /// </summary>
    internal sealed class BorrowedViewShape : ParameterShape
    {
        public static readonly BorrowedViewShape Instance = new();

        public override void WriteOpen(SourceWriter writer, ParameterSpec parameter)
        {
            writer.WriteLine(parameter.Type.ManagedName + ".Lease " + LeaseName(parameter) + " = " + parameter.Name + ".Enter();");
            OpenTry(writer);
        }

        public override string Argument(ParameterSpec parameter) => LeaseName(parameter) + ".Pointer";

        public override void WriteClose(SourceWriter writer, ParameterSpec parameter)
            => CloseTry(writer, LeaseName(parameter) + ".Dispose();");

        public override void WriteReturnOpen(SourceWriter writer, ImportMethodSpec method)
        {
            writer.WriteLine("int __reader_lease = " + method.Parameters[0].Name + ".EnterReader();");
            OpenTry(writer);
        }

        public override void WriteReturn(SourceWriter writer, ImportMethodSpec method)
            => writer.WriteLine("return new " + method.ReturnType.ManagedName + "(" + method.Parameters[0].Name + ", __result);");

        public override void WriteReturnClose(SourceWriter writer, ImportMethodSpec method)
            => CloseTry(writer, method.Parameters[0].Name + ".ExitReader(__reader_lease);");

        internal static string LeaseName(ParameterSpec parameter) => "__" + parameter.LocalName + "_lease";
    }
}
