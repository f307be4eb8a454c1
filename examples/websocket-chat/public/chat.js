/* global document, location, WebSocket */
// The chat page: one WebSocket to /ws on the same host and port as this page.
(function () {
  'use strict';
  var socket = null;
  var me = null;
  var $ = function (id) {
    return document.getElementById(id);
  };

  function item(parts) {
    var li = document.createElement('li');
    parts.forEach(function (p) {
      var span = document.createElement('span');
      span.className = p[0];
      span.textContent = p[1]; // text, never HTML: names and messages come from other users
      li.appendChild(span);
    });
    return li;
  }

  function onEvent(event) {
    if (event.type === 'welcome') {
      me = event;
      $('nickname').value = event.name;
    } else if (event.type === 'users') {
      var list = $('users');
      list.textContent = '';
      event.users.forEach(function (u) {
        var li = item([['name', u.name + (me && u.id === me.id ? ' (you)' : '')]]);
        li.dataset.id = String(u.id);
        list.appendChild(li);
      });
    } else if (event.type === 'message') {
      var li = item([
        ['time', new Date(event.time).toLocaleTimeString()],
        ['from', event.from],
        ['text', event.text],
      ]);
      li.className = 'message';
      $('messages').appendChild(li);
      li.scrollIntoView();
    } else if (event.type === 'error') {
      $('status').textContent = event.message;
    }
  }

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var name = $('nickname').value ? '?name=' + encodeURIComponent($('nickname').value) : '';
    socket = new WebSocket(scheme + location.host + '/ws' + name);
    $('status').textContent = 'connecting…';
    socket.onopen = function () {
      $('status').textContent = 'connected';
      $('send').disabled = false;
    };
    socket.onmessage = function (e) {
      onEvent(JSON.parse(e.data));
    };
    socket.onclose = function () {
      $('send').disabled = true;
      $('status').textContent = 'disconnected, reconnecting in 3 s';
      setTimeout(connect, 3000);
    };
  }

  $('send-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value;
    if (!text.trim() || !socket || socket.readyState !== 1) return;
    socket.send(JSON.stringify({ type: 'message', text: text }));
    $('text').value = '';
  });
  $('nick-form').addEventListener('submit', function (e) {
    e.preventDefault();
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: 'nick', name: $('nickname').value }));
  });
  connect();
})();
