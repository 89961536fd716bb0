// ApiError: a Status carrying the HTTP status and Kubernetes reason (`NotFound`, `Conflict`,
// `Invalid`, ...) that the API server answers for an error code. Store semantics produce them;
// the HTTP layer turns them into Kubernetes Status bodies.
//
// Thread-safety: a pure function.
#ifndef BRFED_APISERVER_API_ERROR_H_
#define BRFED_APISERVER_API_ERROR_H_

#include <string>

#include "core/status.h"

namespace brfed::apiserver {

// `code` with its HTTP status (404, 409, 410, 422, ...; 500 for codes without one) and reason.
Status ApiError(Code code, std::string message);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_API_ERROR_H_
