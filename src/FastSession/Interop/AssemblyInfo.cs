using System.Runtime.CompilerServices;

// Every shim call is blittable (the generator guarantees it), so the runtime never marshals and
// NativeAOT can bind the calls directly (DirectPInvoke) to the statically linked shim.
[assembly: DisableRuntimeMarshalling]
