from eflows_kernel.model.decorators import on_failure

OnFailure = on_failure
onFailure = on_failure
