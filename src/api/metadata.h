// Object-metadata helpers shared by every federation kind and every layer that edits them:
// finalizer lists (read, and the merge patch that adds or removes one), deletion state, and the
// owner annotation that maps a data-plane member back to its federation object. One place, so
// the backup, restore and schedule code edit metadata the same way.
//
// Thread-safety: pure functions over caller-owned values.
#ifndef BRFED_API_METADATA_H_
#define BRFED_API_METADATA_H_

#include <string>
#include <string_view>

#include "core/json.h"

namespace brfed::api {

// Put by the API server on an object deleted with `propagationPolicy: Foreground`; the garbage
// collector removes it once the object's dependents (a member's Jobs) are gone.
inline constexpr char kForegroundDeletionFinalizer[] = "foregroundDeletion";

// metadata.finalizers contains `finalizer`.
bool HasFinalizer(const Json& object, std::string_view finalizer);

// The object's metadata.finalizers with `finalizer` removed and, when `present`, appended once
// at the end (other entries keep their order).
Json FinalizersWith(const Json& object, std::string_view finalizer, bool present);

// The merge patch {"metadata":{"resourceVersion":rv,"finalizers":[...]}} that adds (`present`)
// or removes `finalizer`; carrying `resource_version` makes a stale decision fail with Conflict.
Json FinalizerPatch(const Json& object, std::string_view finalizer, bool present,
                    std::string_view resource_version);

// metadata.deletionTimestamp is set.
bool IsBeingDeleted(const Json& object);

// The owner key ("<namespace>/<name>") in our owner annotation of a member that carries
// `kind_label` (kVolumeBackupLabel or kVolumeRestoreLabel); "" when the member is not ours.
std::string OwnerKeyOf(const Json& member, std::string_view kind_label);

// Whether `member` is one the Go br-federation-manager built for the federation object `owner`
// (a VolumeBackup or VolumeRestore): named `fed-<owner name>`, without any of our marks
// (managed-by label, owner annotations), with `spec.<phase_field>` set (the federal phase Go
// writes), created no earlier than the owner (an older one belongs to an earlier object of
// the same name), and carrying every label of the owner (Go copies them all). Such a member is
// adopted, not recreated.
bool IsGoManagerMember(const Json& member, const Json& owner, std::string_view phase_field);

// The merge patch that adopts a Go-built member: our managed-by label, `kind_label` naming the
// owner, and the owner annotations, carrying the member's resourceVersion so an adoption
// decided on a stale read gets Conflict.
Json AdoptionPatch(const Json& member, const Json& owner, std::string_view kind_label);

}  // namespace brfed::api

#endif  // BRFED_API_METADATA_H_
