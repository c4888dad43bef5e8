"""``python -m eflows_kernel.kernel -f CONNECTION_FILE``: launch the eFlows kernel."""

from ipykernel.kernelapp import IPKernelApp

from eflows_kernel.kernel.kernel import EflowsKernel

if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=EflowsKernel)
