/* evauth-handshake.pml: the pile's handlers of PROTOCOL §6 (included; state and atoms are there). */

/* ================= the pile's handlers: one message at a time, like PileAuthenticator.handle ========= */

/* auth.request {sid s, vid v, ticket t, r1 r, mac}; its mac is MAC(k, "evauth/v1/request", s, r, v, P, ...) */
inline pileRequest(s, v, t, r, k) {
  d_step {
    /* steps 1, 3, 4 (shape, validity, key offset): every ticket here is well formed, valid and accepted.
     * A QoS-1 duplicate of a pending request gets the same challenge again: the intruder has it already. */
    code = OK;
#ifndef MUT_NO_VID_CHECK
    /* step 2: ticket.pid == pid (one pile) and ticket.vid == vid */
    if
    :: TICKET_VID(t) != v -> code = WRONG_VEHICLE
    :: else -> skip
    fi;
#endif
#ifndef MUT_REV1
    /* step 5: mac verifies under the AK derived from this ticket; nothing was kept or counted before this */
    if
    :: code == OK && k != AK(t) -> code = BAD_REQUEST_MAC
    :: else -> skip
    fi;
#endif
    /* step 6 (revocation): nothing is revoked in the model */
    /* step 7: sid already used, or (tid, r1) seen */
    if
    :: code == OK && (sidUsed[s] || pairSeen[t * NR1 + r]) -> code = REPLAY
    :: else -> skip
    fi;
    /* step 8 (connector): connectors enough, all free */
    /* step 9: lockout, then requests per vehicle (counted), then pending handshakes per pile */
    if
    :: code == OK && lockedOut[v] -> code = RATE_LIMITED
    :: code == OK && !lockedOut[v] ->
       /* (d) a request counted against V is one V sent: its sid, its r1, its ticket */
       if
       :: v == VA && !(s < NSESS && vRequested[s] && r == s && t == TA) -> brokeLimits = 1
       :: else -> skip
       fi;
       if
       :: requests[v] <= REQ_LIMIT -> requests[v]++
       :: else -> skip
       fi;
       if
       :: requests[v] > REQ_LIMIT -> code = RATE_LIMITED
       :: else -> skip
       fi
    :: else -> skip
    fi;
    if
    :: code == OK && PENDING_COUNT >= MAXPEND -> code = RATE_LIMITED
    :: else -> skip
    fi;
    printf("P  auth.request sid S%d vid %d ticket %d r1 N%d mac-key %d: %e\n", s, v, t, r, k, code);
    if
    :: code == OK ->
       /* pick r3 = R_nChal; SK = HKDF(AK, r1||r3, sid); proof = MAC(AK, pile-proof, s, r, R, P, v); the offer
        * sealed under SK with aad sid: auth.challenge to vehicles/{v}/auth, that is to the intruder */
       assert(nChal < NR3);
       chSid[nChal] = s;
       chR1[nChal] = r;
       chVid[nChal] = v;
       chTkt[nChal] = t;
       pending[nChal] = 1;
       sidUsed[s] = 1;
       pairSeen[t * NR1 + r] = 1;
       printf("P  auth.challenge r3 R%d to vehicle %d\n", nChal, v);
       nChal++
    :: code == RATE_LIMITED ->
       /* (d, strict) the request V is waiting on is never refused for limits */
       if
       :: v == VA && t == TA && s == vI && vPhase == WAIT_CHALLENGE && r == s && k == KA -> brokeLockout = 1
       :: else -> skip
       fi
    :: else -> skip   /* an auth.error (advisory, no mac): the vehicle may stop, as on a timeout */
    fi;
    code = OK
  }
}

/* the handshake pending under sid s into p, or NR3 if none (the sid is unique at the pile) */
inline findPending(s) {
  if
  :: pending[0] && chSid[0] == s -> p = 0
  :: pending[1] && chSid[1] == s -> p = 1
  :: pending[2] && chSid[2] == s -> p = 2
  :: pending[3] && chSid[3] == s -> p = 3
  :: else -> p = NR3
  fi
}

/* auth.response {sid s, proof}; the proof is MAC(k, "evauth/v1/vehicle-proof", s, r, R_x, v, P, H(offer o)) */
inline pileResponse(s, k, r, x, v, o) {
  d_step {
    findPending(s);
    if
    :: p == NR3 -> skip   /* no pending handshake: dropped (a duplicate after success gets the same result) */
    :: else ->
#ifdef MUT_PROOF_UNCHECKED
       good = 1;
#else
       good = (k == AK(chTkt[p]) && r == chR1[p] && x == p && v == chVid[p] && o == O1);
#endif
       if
       :: good ->
          /* the sender holds AK and agreed to this offer: auth.result with MAC(SK, result, sid, "ok"), and
           * the connector is energised for chVid[p] */
          printf("P  auth.response sid S%d: proof accepted, ENERGISED for vehicle %d (R%d)\n", s, chVid[p], p);
          if
          :: chVid[p] == VA ->
             /* (a) V ran this very session (sid, r1, r3, vid, pid, offer), answered it, and only once */
             if
             :: !(chSid[p] < NSESS && vRequested[chSid[p]] && chR1[p] == chSid[p] && chTkt[p] == TA &&
                  vResponded[chSid[p]] && vR3[chSid[p]] == p && vOffer[chSid[p]] == O1 &&
                  !vEnergised[chSid[p]]) -> brokeAgreement = 1
             :: else -> vEnergised[chSid[p]] = 1
             fi;
             /* (c) on the proof V made for this handshake */
             if
             :: !(k == KA && s < NSESS && vResponded[s] && r == s && x == vR3[s] && v == VA &&
                  o == vOffer[s]) -> brokeProof = 1
             :: else -> skip
             fi
          :: else -> skip
          fi;
          /* (b) SK of a session of V's ticket */
          if
          :: chTkt[p] == TA && CAN_COMPUTE_SK(SK_KEY(KA)) -> brokeSecrecy = 1
          :: else -> skip
          fi;
          pending[p] = 0;
          energised[p] = 1
       :: else ->
#ifdef FIX_BAD_PROOF_IGNORED
          printf("P  auth.response sid S%d: wrong proof, ignored\n", s)
#else
          /* BAD_PROOF: counts toward lockout and ends the pending handshake */
          printf("P  auth.response sid S%d: BAD_PROOF, counted against vehicle %d\n", s, chVid[p]);
          if
          :: chVid[p] == VA &&
             !(chSid[p] < NSESS && vRequested[chSid[p]] && chR1[p] == chSid[p] && chTkt[p] == TA) ->
             brokeLimits = 1
          :: else -> skip
          fi;
          pending[p] = 0;
          if
          :: failedProofs[chVid[p]] + 1 >= LOCKOUT_AFTER ->
             lockedOut[chVid[p]] = 1;
             failedProofs[chVid[p]] = 0;
             printf("P  vehicle %d locked out\n", chVid[p])
          :: else -> failedProofs[chVid[p]]++
          fi
#endif
       fi
    fi;
    p = 0;
    good = 0
  }
}

/* auth.abort {sid s, reason, mac}; its mac is MAC(k, "evauth/v1/abort", s, reason) */
inline pileAbort(s, k) {
  d_step {
    findPending(s);
    if
    :: p != NR3 && k == AK(chTkt[p]) ->   /* ends the handshake; counts nothing */
       printf("P  auth.abort sid S%d: handshake R%d ended\n", s, p);
       pending[p] = 0
    :: else -> skip   /* ignored (and counted per pile) */
    fi;
    p = 0
  }
}

/* the pile forgets a pending handshake 10 s after its challenge (and sends a MACed TIMEOUT) */
proctype PileClock() {
end:
  do
  :: atomic { pending[0] -> pending[0] = 0 }
  :: atomic { pending[1] -> pending[1] = 0 }
  :: atomic { pending[2] -> pending[2] = 0 }
  :: atomic { pending[3] -> pending[3] = 0 }
  od
}
